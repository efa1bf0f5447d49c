// `lipar`: the command-line client of the engine.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "commands.h"
#include "core/error.h"
#include "core/log.h"
#include "lipar/cpu_tuning.h"
#include "lipar/gpu_env.h"

namespace {

struct Command {
    const char* name;
    const char* summary;
    int (*run)(const lipar::cli::CommandArgs&);
};

const Command kCommands[] = {
    {"edit", "edit a video with a prompt (modes off, naive, lipar, compare)", lipar::cli::cmd_edit},
    {"bench", "off / naive / lipar on the same clip: FPS, stage times, kept ratio, fidelity",
     lipar::cli::cmd_bench},
    {"info", "describe a model pack and check that it loads", lipar::cli::cmd_info},
    {"pack", "create model packs (pack init-random)", lipar::cli::cmd_pack},
    {"bench-dit", "time the causal DiT on one block with random weights (matrix throughput)",
     lipar::cli::cmd_bench_dit},
    {"tensor", "run one model component on tensors from a safetensors file (parity checks)",
     lipar::cli::cmd_tensor},
    {"train", "train the Nano model pack (autoencoder, DiT, text encoder) on clips and stills",
     lipar::cli::cmd_train},
    {"eval", "score a trained pack's styles on a clip (PSNR, SSIM, flicker; off/naive/lipar)",
     lipar::cli::cmd_eval},
    {"convert", "convert a checkpoint (.pth or .safetensors) to safetensors, optionally one part",
     lipar::cli::cmd_convert},
};

void print_usage() {
    std::cout << "usage: lipar COMMAND [options]   (lipar COMMAND --help for details)\n\ncommands:\n";
    for (const auto& c : kCommands) std::cout << "  " << c.name << "\n      " << c.summary << "\n";
}

// Log level from $LIPAR_LOG (trace, debug, info, warn, error, off); warnings and errors by default
// so that the CLI prints its progress and results, not the engine's chatter.
void configure_logging() {
    lipar::LogLevel level = lipar::LogLevel::Warn;
    if (const char* env = std::getenv("LIPAR_LOG")) {
        const std::string v = env;
        for (auto l : {lipar::LogLevel::Trace, lipar::LogLevel::Debug, lipar::LogLevel::Info,
                       lipar::LogLevel::Warn, lipar::LogLevel::Error, lipar::LogLevel::Off}) {
            if (v == lipar::log_level_name(l)) level = l;
        }
    }
    lipar::set_log_level(level);
}

}  // namespace

int main(int argc, char** argv) {
    lipar::tune_blas_for_this_cpu(argv);  // may re-exec this program (see lipar/cpu_tuning.h)
    lipar::keep_nvlink_multicast_off();
    // A stream receiver that goes away must surface as a write error (the edit goes on), not
    // kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    configure_logging();
    if (argc >= 2 && std::string(argv[1]) == "--version") {
        std::cout << "lipar " << LIPAR_VERSION << "\n";
        return 0;
    }
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        print_usage();
        return argc < 2 ? 2 : 0;
    }
    const std::string name = argv[1];
    const std::vector<std::string> rest(argv + 2, argv + argc);
    for (const auto& c : kCommands) {
        if (name != c.name) continue;
        try {
            return c.run(rest);
        } catch (...) {
            const lipar::Status s = lipar::status_from_current_exception();
            std::cerr << "lipar " << name << ": " << s.message << "\n";
            return 1;
        }
    }
    std::cerr << "lipar: unknown command '" << name << "' (see lipar --help)\n";
    return 2;
}
