// `lipar tensor COMPONENT --weights W --in IN.safetensors --out OUT.safetensors ...`
// Runs one model component on tensors read from a safetensors file so that it can be compared
// against a reference implementation (docs/PARITY.md).
#include <iostream>

#include "args.h"
#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "tensor_components.h"

namespace lipar::cli {

namespace {
const TensorComponent kComponents[] = {
    // Filled by tensor_*.cpp files; see tensor_components.h.
    {"dit", "Wan DiT bidirectional forward: x, t, context -> flow", declare_dit_options,
     run_tensor_dit},
    {"dit-causal", "Wan DiT block-causal streaming forward with KV cache: x, x_clean, t, context -> flow",
     declare_dit_options, run_tensor_dit_causal},
    {"taesd-encode", "TAESD-family encoder (--weights ENC): x [N,3,H,W] in [0,1] -> z [N,C,H/8,W/8]",
     declare_taesd_options, run_tensor_taesd_encode},
    {"taesd-decode", "TAESD-family decoder (--weights2 DEC): z [N,C,h,w] -> x [N,3,8h,8w] in [0,1]",
     declare_taesd_options, run_tensor_taesd_decode},
    {"taehv-encode", "TAEHV encoder: x [N,T,3,H,W] in [0,1] -> z [N,ceil(T/4),16,H/8,W/8]",
     declare_taehv_options, run_tensor_taehv_encode},
    {"taehv-decode", "TAEHV decoder: z [N,K,16,h,w] -> x [N,4K-3,3,8h,8w] in [0,1]",
     declare_taehv_options, run_tensor_taehv_decode},
    {"edit-loop", "the editor's block loop on clean latents z with noise from the file -> x0 of "
                  "every block (docs/PARITY.md)",
     declare_edit_loop_options, run_tensor_edit_loop},
    {"t5", "UMT5 text encoder: ids, mask -> hidden (last hidden state, f32)", declare_t5_options,
     run_tensor_t5},
};
}  // namespace

int cmd_tensor(const CommandArgs& argv) {
    if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
        std::cout << "usage: lipar tensor COMPONENT --weights W [--weights2 W2] --in IN.safetensors "
                     "--out OUT.safetensors [--device cpu|cuda] [--dtype f32|bf16|f16] [options]\n"
                     "components:\n";
        for (const auto& c : kComponents) std::cout << "  " << c.name << "\n      " << c.summary << "\n";
        return argv.empty() ? 2 : 0;
    }
    for (const auto& c : kComponents) {
        if (argv[0] != c.name) continue;
        Args args(std::string("tensor ") + c.name, {argv.begin() + 1, argv.end()});
        args.option("weights", "weights file (.safetensors or .pth)")
            .option("weights2", "second weights file (e.g. the decoder of an autoencoder)")
            .option("in", "input tensors (.safetensors)")
            .option("out", "output tensors (.safetensors)")
            .option("device", "cpu, cuda, cuda:N or auto", "cpu")
            .option("dtype", "compute dtype: f32, bf16 or f16", "f32");
        c.declare_options(args);
        if (!args.parse()) return 0;
        for (const char* required : {"in", "out"}) {
            LIPAR_CHECK(args.has(required), StatusCode::InvalidArgument, "--", required,
                        " is required");
        }
        TensorRunContext ctx{args, parse_device(args.get("device")), parse_dtype(args.get("dtype"))};
        c.run(ctx);
        return 0;
    }
    fail(StatusCode::InvalidArgument, "unknown component '", argv[0],
         "' (see lipar tensor --help)");
}

}  // namespace lipar::cli
