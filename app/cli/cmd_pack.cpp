// `lipar pack init-random ...` and `lipar info [PACK]`.
#include <cstdio>
#include <iostream>

#include "args.h"
#include "lipar/cpu_tuning.h"
#include "cli_common.h"
#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "core/timer.h"
#include "pipeline/editor.h"
#include "pipeline/random_pack.h"

namespace lipar::cli {

int cmd_pack(const CommandArgs& argv) {
    if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
        std::cout << "usage: lipar pack init-random --config tiny|wan-1.3b --out DIR [--seed S] "
                     "[--autoencoder taehv|taesd:ENC,DEC] [--size WxH]\n"
                     "  writes a seeded random (UNTRAINED) model pack for tests, demos and "
                     "benchmarks\n";
        return argv.empty() ? 2 : 0;
    }
    LIPAR_CHECK(argv[0] == "init-random", StatusCode::InvalidArgument, "unknown pack command '",
                argv[0], "' (expected init-random)");
    Args args("pack init-random", {argv.begin() + 1, argv.end()});
    args.option("config", "DiT configuration: tiny or wan-1.3b", "tiny")
        .option("out", "pack directory to create")
        .option("seed", "weight seed", "0")
        .option("autoencoder", "taehv (random) or taesd:ENCODER,DECODER (existing weights)", "taehv")
        .option("size", "default resolution WxH (default 320x192 for tiny, 832x480 otherwise)")
        .option("frames-per-block", "latent frames per block", "3")
        .option("text", "hashed, or umt5:TOKENIZER.model for a random UMT5 encoder", "hashed")
        .option("text-layers", "UMT5 layers with --text umt5:...", "2")
        .option("text-len", "prompt tokens (0: the configuration's, 512 for wan-1.3b)", "0");
    if (!args.parse()) return 0;
    LIPAR_CHECK(args.has("out"), StatusCode::InvalidArgument, "--out DIR is required");
    pipeline::RandomPackOptions o;
    o.config = args.get("config");
    model::DitConfig::by_name(o.config);  // validates the name before any work
    o.out = args.get("out");
    o.seed = static_cast<uint64_t>(args.get_int("seed"));
    o.autoencoder = args.get("autoencoder");
    o.frames_per_block = args.get_int("frames-per-block");
    o.text = args.get("text");
    o.text_layers = args.get_int("text-layers");
    o.text_len = args.get_int("text-len");
    if (args.has("size")) {
        const auto [w, h] = args.get_size("size");
        o.width = static_cast<int>(w);
        o.height = static_cast<int>(h);
    }
    Timer t;
    const auto pack = pipeline::write_random_pack(o);
    std::cout << pack.describe() << "written in " << static_cast<int>(t.elapsed_ms()) << " ms\n";
    return 0;
}

int cmd_info(const CommandArgs& argv) {
    Args args("info", argv);
    args.positional("PACK", "model pack directory (default: as for lipar edit)", false)
        .option("device", "device to test-load on", "cpu")
        .option("dtype", "dtype to test-load in (auto: bf16 on CUDA, f32 on CPU)", "auto")
        .flag("no-load", "only read and check the manifest and files");
    if (!args.parse()) return 0;
    std::string dir = args.get("PACK");
    if (dir.empty()) dir = resolve_pack_dir(args);
    const auto pack = pipeline::ModelPack::load(dir);
    std::cout << pack.describe();
    if (args.flag_set("no-load")) return 0;
    pipeline::EditorSettings s;
    s.device = parse_device(args.get("device"));
    s.dtype = parse_dtype(args.get("dtype"), s.device);
    Timer t;
    pipeline::Editor editor(pack, s);
    std::cout << "dit config  " << editor.dit_config().describe() << "\n"
              << "block       " << editor.frames_per_block() << " latent frames = "
              << editor.source_frames_per_block() << " source frames\n"
              << "loads       ok on " << editor.device_name() << " (" << dtype_name(s.dtype)
              << ") in " << static_cast<int>(t.elapsed_ms()) << " ms\n";
    if (std::string(blas_core_name()).size() > 0)
        std::cout << "cpu blas    OpenBLAS " << blas_core_name() << " kernels\n";
    return 0;
}

}  // namespace lipar::cli
