#include "core/error.h"
#include "tensor_components.h"

namespace lipar::cli {

void declare_dit_options(Args& args) {
    args.option("frames-per-block", "latent frames per causal block", "3")
        .option("sink", "sink latent frames kept in the KV cache", "1")
        .option("window", "most recent latent frames kept in the KV cache (0 = all)", "0");
}

void run_tensor_dit(TensorRunContext&) { fail(StatusCode::Unsupported, "dit: work in progress"); }
void run_tensor_dit_causal(TensorRunContext&) {
    fail(StatusCode::Unsupported, "dit-causal: work in progress");
}

}  // namespace lipar::cli
