// `lipar tensor dit` and `lipar tensor dit-causal`.
#include "core/device.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/dit/dit_loader.h"
#include "model/dit/kv_cache.h"
#include "tensor_components.h"

namespace lipar::cli {

namespace {

const torch::Tensor& input(const io::TensorMap& in, const std::string& name, int64_t dims) {
    auto it = in.find(name);
    LIPAR_CHECK(it != in.end(), StatusCode::NotFound, "input file lacks tensor '", name, "'");
    LIPAR_CHECK(dims < 0 || it->second.dim() == dims, StatusCode::ShapeMismatch, "input '", name,
                "' has shape ", shape_string(it->second.sizes()), ", expected ", dims, " dims");
    return it->second;
}

model::WanDit load(TensorRunContext& ctx) {
    LIPAR_CHECK(ctx.args.has("weights"), StatusCode::InvalidArgument, "--weights is required");
    model::DitLoadOptions opts;
    opts.head_dim = ctx.args.get_int("head-dim");
    return model::load_wan_dit(ctx.args.get("weights"),
                               torch::TensorOptions().device(ctx.device).dtype(ctx.dtype), opts);
}

}  // namespace

void declare_dit_options(Args& args) {
    args.option("frames-per-block", "dit-causal: latent frames per causal block", "3")
        .option("sink", "dit-causal: sink latent frames kept in the KV cache", "1")
        .option("window", "dit-causal: most recent latent frames kept besides the sink (0 = all)", "0")
        .option("head-dim", "attention head size (heads = dim / head-dim)", "128");
}

void run_tensor_dit(TensorRunContext& ctx) {
    torch::NoGradGuard no_grad;
    const auto in = io::read_safetensors(ctx.args.get("in"));
    auto dit = load(ctx);
    const auto& x = input(in, "x", 5);
    const auto& t = input(in, "t", -1);
    const auto& context = input(in, "context", 3);
    auto flow = dit->forward(x.to(ctx.device), t.to(ctx.device), context.to(ctx.device));
    io::write_safetensors(ctx.args.get("out"), {{"flow", flow.to(torch::kCPU).contiguous()}});
}

void run_tensor_dit_causal(TensorRunContext& ctx) {
    torch::NoGradGuard no_grad;
    const auto in = io::read_safetensors(ctx.args.get("in"));
    auto dit = load(ctx);
    auto x = input(in, "x", 5).to(ctx.device);
    auto x_clean = input(in, "x_clean", 5).to(ctx.device);
    auto t = input(in, "t", 2).to(ctx.device);
    auto context = input(in, "context", 3).to(ctx.device);
    LIPAR_CHECK(x.sizes() == x_clean.sizes(), StatusCode::ShapeMismatch, "x ",
                shape_string(x.sizes()), " and x_clean ", shape_string(x_clean.sizes()),
                " differ in shape");
    const int64_t fpb = ctx.args.get_int("frames-per-block");
    const int64_t frames = x.size(2);
    LIPAR_CHECK(fpb > 0 && frames % fpb == 0, StatusCode::InvalidArgument, "latent frames (",
                frames, ") must be a multiple of --frames-per-block (", fpb, ")");
    LIPAR_CHECK(t.size(0) == x.size(0) && t.size(1) == frames, StatusCode::ShapeMismatch,
                "t must be [B, F] = [", x.size(0), ", ", frames, "], got ", shape_string(t.sizes()));
    const auto& c = dit->config();
    model::KvCache cache(c.num_layers, c.num_heads, c.head_dim(),
                         model::KvWindow{ctx.args.get_int("sink"), ctx.args.get_int("window")},
                         torch::TensorOptions().device(ctx.device).dtype(ctx.dtype));
    auto cross = dit->encode_context(context);
    std::vector<torch::Tensor> flows;
    for (int64_t s = 0; s < frames; s += fpb) {
        flows.push_back(model::causal_forward(*dit, x.narrow(2, s, fpb), t.narrow(1, s, fpb), cross,
                                              cache, s, model::CacheWrite::Transient));
        model::causal_forward(*dit, x_clean.narrow(2, s, fpb),
                              torch::zeros({x.size(0), fpb}, t.options()), cross, cache, s,
                              model::CacheWrite::Commit);
    }
    io::write_safetensors(ctx.args.get("out"),
                          {{"flow", torch::cat(flows, 2).to(torch::kCPU).contiguous()}});
}

}  // namespace lipar::cli
