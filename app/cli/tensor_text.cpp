// `lipar tensor t5`: the UMT5 text encoder on token ids.
//   in:  ids  int64 [B, L], mask int64 [B, L] (optional, 1 = real token)
//   out: hidden float32 [B, L, d_model] (last hidden state; padding rows as computed, not zeroed)
#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "io/safetensors.h"
#include "model/text/umt5_weights.h"
#include "tensor_components.h"

namespace lipar::cli {

void declare_t5_options(Args&) {}

void run_tensor_t5(TensorRunContext& ctx) {
    LIPAR_CHECK(ctx.args.has("weights"), StatusCode::InvalidArgument,
                "--weights is required: a UMT5 safetensors file, a Hugging Face model directory "
                "or index.json, or Wan's models_t5_umt5-xxl-enc-bf16.pth");
    const std::string in_path = ctx.args.get("in");
    auto inputs = io::read_safetensors(in_path);
    auto ids = inputs.find("ids");
    LIPAR_CHECK(ids != inputs.end(), StatusCode::NotFound, "'", in_path,
                "' has no 'ids' tensor (int64 [B, L])");
    torch::Tensor mask;
    if (auto it = inputs.find("mask"); it != inputs.end())
        mask = it->second;

    auto model = model::load_umt5_encoder(
        ctx.args.get("weights"), torch::TensorOptions().device(ctx.device).dtype(ctx.dtype));
    torch::Tensor hidden;
    {
        torch::NoGradGuard no_grad;
        hidden = model->forward(ids->second, mask);
    }
    io::write_safetensors(ctx.args.get("out"),
                          {{"hidden", hidden.to(torch::kCPU, torch::kFloat32).contiguous()}});
    LIPAR_LOG_INFO("t5: ids ", shape_string(ids->second.sizes()), " -> hidden ",
                   shape_string(hidden.sizes()), " (", dtype_name(ctx.dtype), " on ",
                   ctx.device.str(), ")");
}

}  // namespace lipar::cli
