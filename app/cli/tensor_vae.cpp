// `lipar tensor taesd-encode|taesd-decode|taehv-encode|taehv-decode`: the tiny autoencoders on
// tensors from a safetensors file. Inputs are converted to --dtype on --device; outputs are
// written as float32.
#include <algorithm>
#include <sstream>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "io/safetensors.h"
#include "model/vae/taehv.h"
#include "model/vae/taesd.h"
#include "tensor_components.h"

namespace lipar::cli {

namespace {

torch::Tensor input_tensor(const io::TensorMap& tensors,
                           const std::string& name,
                           const std::string& path,
                           const char* expected_shape) {
    auto it = tensors.find(name);
    if (it != tensors.end())
        return it->second;
    std::ostringstream found;
    for (const auto& [key, value] : tensors)
        found << (found.tellp() > 0 ? ", " : "") << key;
    fail(StatusCode::NotFound, path, ": no tensor '", name, "' ", expected_shape,
         " (found: ", found.str().empty() ? std::string("nothing") : found.str(), ")");
}

void check_rank(const torch::Tensor& t,
                int64_t rank,
                const char* component,
                const char* name,
                const char* expected_shape) {
    LIPAR_CHECK(t.dim() == rank, StatusCode::ShapeMismatch, component, ": input '", name,
                "' must be ", expected_shape, ", got ", shape_string(t.sizes()));
    LIPAR_CHECK(t.is_floating_point(), StatusCode::InvalidArgument, component, ": input '", name,
                "' must be a floating-point tensor, got ", dtype_name(t.scalar_type()));
}

// RGB frames with the channel axis at `channel_dim` and a size the 8x models accept.
void check_frames(const torch::Tensor& x,
                  int64_t channel_dim,
                  const char* component,
                  const char* expected_shape) {
    const int64_t h = x.size(-2), w = x.size(-1);
    LIPAR_CHECK(x.size(channel_dim) == 3 && h > 0 && w > 0 && h % 8 == 0 && w % 8 == 0,
                StatusCode::ShapeMismatch, component, ": input 'x' must be ", expected_shape,
                " with H and W multiples of 8, got ", shape_string(x.sizes()));
}

void write_output(TensorRunContext& ctx,
                  const char* name,
                  const torch::Tensor& value,
                  const char* component) {
    io::TensorMap out;
    out[name] = value.to(torch::kCPU, torch::kFloat32).contiguous();
    io::write_safetensors(ctx.args.get("out"), out,
                          {{"component", component}, {"dtype", dtype_name(ctx.dtype)}});
    LIPAR_LOG_INFO(component, ": wrote '", name, "' ", shape_string(value.sizes()), " to ",
                   ctx.args.get("out"));
}

torch::TensorOptions model_options(const TensorRunContext& ctx) {
    return torch::TensorOptions().device(ctx.device).dtype(ctx.dtype);
}

// Runs fn over slices of at most `batch` along dim 0 and concatenates the results.
template <typename Fn>
torch::Tensor in_batches(const torch::Tensor& x, int64_t batch, Fn fn) {
    std::vector<torch::Tensor> outs;
    for (int64_t i = 0; i < x.size(0); i += batch) {
        outs.push_back(fn(x.narrow(0, i, std::min(batch, x.size(0) - i))).to(torch::kCPU));
    }
    return torch::cat(outs);
}

int64_t positive_option(const Args& args, const char* name, int64_t minimum) {
    const int64_t value = args.get_int(name);
    LIPAR_CHECK(value >= minimum, StatusCode::InvalidArgument, "--", name, " must be >= ", minimum,
                ", got ", value);
    return value;
}

}  // namespace

void declare_taesd_options(Args& args) {
    args.option("batch", "images per forward pass (bounds memory)", "4");
}

void declare_taehv_options(Args& args) {
    args.option("chunk",
                "feed the input through the streaming API this many frames (encode) or latents "
                "(decode) at a time; 0 = all at once",
                "0");
}

void run_tensor_taesd_encode(TensorRunContext& ctx) {
    LIPAR_CHECK(ctx.args.has("weights"), StatusCode::InvalidArgument,
                "taesd-encode needs the encoder weights: --weights ENCODER.safetensors|.pth");
    const int64_t batch = positive_option(ctx.args, "batch", 1);
    const auto inputs = io::read_safetensors(ctx.args.get("in"));
    const auto x = input_tensor(inputs, "x", ctx.args.get("in"), "[N, 3, H, W]");
    check_rank(x, 4, "taesd-encode", "x", "[N, 3, H, W] in [0, 1]");
    check_frames(x, 1, "taesd-encode", "[N, 3, H, W]");
    auto model = model::TinyImageAutoencoder::load(ctx.args.get("weights"), "", model_options(ctx));
    const auto z = in_batches(x, batch, [&](const torch::Tensor& b) { return model->encode(b); });
    write_output(ctx, "z", z, "taesd-encode");
}

void run_tensor_taesd_decode(TensorRunContext& ctx) {
    const std::string weights =
        ctx.args.has("weights2") ? ctx.args.get("weights2") : ctx.args.get("weights");
    LIPAR_CHECK(!weights.empty(), StatusCode::InvalidArgument,
                "taesd-decode needs the decoder weights: --weights2 DECODER.safetensors|.pth");
    const int64_t batch = positive_option(ctx.args, "batch", 1);
    const auto inputs = io::read_safetensors(ctx.args.get("in"));
    const auto z = input_tensor(inputs, "z", ctx.args.get("in"), "[N, C, h, w]");
    check_rank(z, 4, "taesd-decode", "z", "[N, C, h, w]");
    auto model = model::TinyImageAutoencoder::load("", weights, model_options(ctx));
    const auto x = in_batches(z, batch, [&](const torch::Tensor& b) { return model->decode(b); });
    write_output(ctx, "x", x, "taesd-decode");
}

void run_tensor_taehv_encode(TensorRunContext& ctx) {
    LIPAR_CHECK(ctx.args.has("weights"), StatusCode::InvalidArgument,
                "taehv-encode needs the TAEHV weights: --weights taew2_1.safetensors|.pth");
    const int64_t chunk = positive_option(ctx.args, "chunk", 0);
    const auto inputs = io::read_safetensors(ctx.args.get("in"));
    const auto x = input_tensor(inputs, "x", ctx.args.get("in"), "[N, T, 3, H, W]");
    check_rank(x, 5, "taehv-encode", "x", "[N, T, 3, H, W] in [0, 1]");
    check_frames(x, 2, "taehv-encode", "[N, T, 3, H, W]");
    auto model = model::Taehv::load(ctx.args.get("weights"), model_options(ctx));
    torch::Tensor z;
    if (chunk == 0) {
        z = model->encode(x);
    } else {
        LIPAR_CHECK(x.size(1) > 0, StatusCode::ShapeMismatch,
                    "taehv-encode: input 'x' has no frames: ", shape_string(x.sizes()));
        model::TaehvEncoderState state;
        std::vector<torch::Tensor> outs;
        for (int64_t t = 0; t < x.size(1); t += chunk) {
            const int64_t len = std::min(chunk, x.size(1) - t);
            outs.push_back(model->encode_step(state, x.narrow(1, t, len)).to(torch::kCPU));
        }
        outs.push_back(model->encode_flush(state).to(torch::kCPU));
        z = torch::cat(outs, 1);
    }
    write_output(ctx, "z", z, "taehv-encode");
}

void run_tensor_taehv_decode(TensorRunContext& ctx) {
    const std::string weights =
        ctx.args.has("weights") ? ctx.args.get("weights") : ctx.args.get("weights2");
    LIPAR_CHECK(!weights.empty(), StatusCode::InvalidArgument,
                "taehv-decode needs the TAEHV weights: --weights taew2_1.safetensors|.pth");
    const int64_t chunk = positive_option(ctx.args, "chunk", 0);
    const auto inputs = io::read_safetensors(ctx.args.get("in"));
    const auto z = input_tensor(inputs, "z", ctx.args.get("in"), "[N, K, 16, h, w]");
    check_rank(z, 5, "taehv-decode", "z", "[N, K, 16, h, w]");
    auto model = model::Taehv::load(weights, model_options(ctx));
    torch::Tensor x;
    if (chunk == 0) {
        x = model->decode(z);
    } else {
        LIPAR_CHECK(z.size(1) > 0, StatusCode::ShapeMismatch,
                    "taehv-decode: input 'z' has no latents: ", shape_string(z.sizes()));
        model::TaehvDecoderState state;
        std::vector<torch::Tensor> outs;
        for (int64_t k = 0; k < z.size(1); k += chunk) {
            const int64_t len = std::min(chunk, z.size(1) - k);
            outs.push_back(model->decode_step(state, z.narrow(1, k, len)).to(torch::kCPU));
        }
        x = torch::cat(outs, 1);
    }
    write_output(ctx, "x", x, "taehv-decode");
}

}  // namespace lipar::cli
