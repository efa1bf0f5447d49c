#include "model/text/umt5.h"

#include <optional>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>

#include "core/device.h"
#include "core/error.h"

namespace lipar::model {

void Umt5Config::validate() const {
    const std::pair<const char*, int64_t> fields[] = {
        {"vocab_size", vocab_size},   {"d_model", d_model},
        {"num_heads", num_heads},     {"d_kv", d_kv},
        {"num_layers", num_layers},   {"d_ff", d_ff},
        {"num_buckets", num_buckets}, {"max_distance", max_distance}};
    for (const auto& [name, value] : fields) {
        LIPAR_CHECK(value > 0, StatusCode::InvalidArgument, "UMT5 config: ", name,
                    " must be positive, got ", value);
    }
    // Each direction needs at least 2 buckets, and the log range needs max_distance > max_exact.
    LIPAR_CHECK(num_buckets >= 4 && num_buckets % 2 == 0, StatusCode::InvalidArgument,
                "UMT5 config: num_buckets must be even and at least 4, got ", num_buckets);
    LIPAR_CHECK(max_distance > num_buckets / 4, StatusCode::InvalidArgument,
                "UMT5 config: max_distance ", max_distance, " must exceed num_buckets / 4");
    LIPAR_CHECK(eps > 0 && std::isfinite(eps), StatusCode::InvalidArgument,
                "UMT5 config: eps must be positive, got ", eps);
}

std::string Umt5Config::to_string() const {
    return str_cat("vocab ", vocab_size, ", d_model ", d_model, ", ", num_heads, " heads x ", d_kv,
                   ", ", num_layers, " layers, d_ff ", d_ff, ", ", num_buckets,
                   " buckets (max distance ", max_distance, ")");
}

int64_t Umt5Config::parameter_count() const {
    const int64_t inner = num_heads * d_kv;
    const int64_t per_layer =
        4 * d_model * inner + num_buckets * num_heads + 3 * d_model * d_ff + 2 * d_model;
    return vocab_size * d_model + num_layers * per_layer + d_model;
}

void check_umt5_dtype(torch::Dtype dtype) {
    LIPAR_CHECK(dtype == torch::kFloat32 || dtype == torch::kBFloat16, StatusCode::Unsupported,
                "the UMT5 text encoder runs in f32 or bf16, not ", dtype_name(dtype),
                " (T5 activations overflow float16)");
}

torch::Tensor relative_position_bucket(const torch::Tensor& relative_position,
                                       int64_t num_buckets,
                                       int64_t max_distance) {
    const int64_t half = num_buckets / 2;
    const int64_t max_exact = half / 2;
    auto rel = relative_position.to(torch::kInt64);
    auto buckets = rel.gt(0).to(torch::kInt64) * half;
    auto distance = rel.abs();
    // Same float32 operations as the reference so that the truncation at bucket boundaries
    // (e.g. distance 16, 32, 64) agrees exactly.
    auto log_ratio = torch::log(distance.to(torch::kFloat32) / static_cast<double>(max_exact)) /
                     std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact));
    auto large = (log_ratio * static_cast<double>(half - max_exact)).to(torch::kInt64) + max_exact;
    large = torch::clamp_max(large, half - 1);
    return buckets + torch::where(distance.lt(max_exact), distance, large);
}

torch::Tensor t5_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
    auto xf = x.to(torch::kFloat32);
    auto normed = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
    return weight * normed.to(weight.scalar_type());
}

Umt5WeightImpl::Umt5WeightImpl(c10::IntArrayRef shape, const torch::TensorOptions& options) {
    weight = register_parameter("weight", torch::empty(shape, options), /*requires_grad=*/false);
}

// ---- attention -----------------------------------------------------------------------------

Umt5AttentionImpl::Umt5AttentionImpl(const Umt5Config& c, const torch::TensorOptions& options)
    : m_heads(c.num_heads), m_d_kv(c.d_kv) {
    const int64_t inner = c.num_heads * c.d_kv;
    q = register_module("q", Umt5Weight(std::vector<int64_t>{inner, c.d_model}, options));
    k = register_module("k", Umt5Weight(std::vector<int64_t>{inner, c.d_model}, options));
    v = register_module("v", Umt5Weight(std::vector<int64_t>{inner, c.d_model}, options));
    o = register_module("o", Umt5Weight(std::vector<int64_t>{c.d_model, inner}, options));
    relative_attention_bias =
        register_module("relative_attention_bias",
                        Umt5Weight(std::vector<int64_t>{c.num_buckets, c.num_heads}, options));
}

torch::Tensor Umt5AttentionImpl::position_bias(const torch::Tensor& buckets) {
    // [L, L, H] -> [1, H, L, L]
    return torch::embedding(relative_attention_bias->weight, buckets)
        .permute({2, 0, 1})
        .unsqueeze(0)
        .to(torch::kFloat32);
}

torch::Tensor Umt5AttentionImpl::forward(const torch::Tensor& x,
                                         const torch::Tensor& buckets,
                                         const torch::Tensor& key_padding) {
    const int64_t batch = x.size(0), len = x.size(1);
    auto heads = [&](const Umt5Weight& w) {
        return torch::linear(x, w->weight).view({batch, len, m_heads, m_d_kv}).transpose(1, 2);
    };
    auto qh = heads(q), kh = heads(k), vh = heads(v);
    // T5 does not scale q.k by 1/sqrt(d_kv); the scores, bias and softmax are kept in float32.
    auto scores = torch::matmul(qh, kh.transpose(-1, -2)).to(torch::kFloat32);
    scores.add_(position_bias(buckets));
    scores.masked_fill_(key_padding, std::numeric_limits<float>::lowest());
    auto probs = torch::softmax(scores, -1).to(x.scalar_type());
    auto out = torch::matmul(probs, vh).transpose(1, 2).reshape({batch, len, m_heads * m_d_kv});
    return torch::linear(out, o->weight);
}

// ---- block ---------------------------------------------------------------------------------

Umt5BlockImpl::Umt5BlockImpl(const Umt5Config& c, const torch::TensorOptions& options)
    : m_eps(c.eps) {
    // Hugging Face's layout: layer.0 = {SelfAttention, layer_norm},
    // layer.1 = {DenseReluDense.{wi_0, wi_1, wo}, layer_norm}.
    auto layer0 = std::make_shared<torch::nn::Module>();
    attention = layer0->register_module("SelfAttention", Umt5Attention(c, options));
    attention_norm =
        layer0->register_module("layer_norm", Umt5Weight(std::vector<int64_t>{c.d_model}, options));

    auto layer1 = std::make_shared<torch::nn::Module>();
    auto dense = std::make_shared<torch::nn::Module>();
    wi_0 = dense->register_module("wi_0",
                                  Umt5Weight(std::vector<int64_t>{c.d_ff, c.d_model}, options));
    wi_1 = dense->register_module("wi_1",
                                  Umt5Weight(std::vector<int64_t>{c.d_ff, c.d_model}, options));
    wo = dense->register_module("wo", Umt5Weight(std::vector<int64_t>{c.d_model, c.d_ff}, options));
    layer1->register_module("DenseReluDense", dense);
    ffn_norm =
        layer1->register_module("layer_norm", Umt5Weight(std::vector<int64_t>{c.d_model}, options));

    torch::nn::ModuleList layers;
    layers->push_back(layer0);
    layers->push_back(layer1);
    register_module("layer", layers);
}

torch::Tensor Umt5BlockImpl::forward(const torch::Tensor& x_in,
                                     const torch::Tensor& buckets,
                                     const torch::Tensor& key_padding) {
    auto x = x_in + attention->forward(t5_rms_norm(x_in, attention_norm->weight, m_eps), buckets,
                                       key_padding);
    auto h = t5_rms_norm(x, ffn_norm->weight, m_eps);
    auto gated =
        torch::gelu(torch::linear(h, wi_0->weight), "tanh") * torch::linear(h, wi_1->weight);
    return x + torch::linear(gated, wo->weight);
}

// ---- encoder -------------------------------------------------------------------------------

Umt5EncoderImpl::Umt5EncoderImpl(const Umt5Config& config, const torch::TensorOptions& options)
    : m_config(config), m_options(options) {
    m_config.validate();
    check_umt5_dtype(torch::typeMetaToScalarType(options.dtype()));
    shared = register_module(
        "shared", Umt5Weight(std::vector<int64_t>{config.vocab_size, config.d_model}, options));
    auto encoder = std::make_shared<torch::nn::Module>();
    torch::nn::ModuleList block_list;
    for (int64_t i = 0; i < config.num_layers; ++i) {
        blocks.push_back(Umt5Block(m_config, options));
        block_list->push_back(blocks.back());
    }
    encoder->register_module("block", block_list);
    final_layer_norm = encoder->register_module(
        "final_layer_norm", Umt5Weight(std::vector<int64_t>{config.d_model}, options));
    register_module("encoder", encoder);
}

torch::Tensor Umt5EncoderImpl::forward(const torch::Tensor& ids_in, const torch::Tensor& mask_in) {
    LIPAR_CHECK(!m_released, StatusCode::Internal,
                "the UMT5 encoder's weights were released; load it again before encoding");
    LIPAR_CHECK(ids_in.defined() && ids_in.dim() == 2, StatusCode::ShapeMismatch,
                "UMT5 ids must be [batch, length], got ",
                ids_in.defined() ? shape_string(ids_in.sizes()) : std::string("none"));
    LIPAR_CHECK(
        !ids_in.is_floating_point() && !ids_in.is_complex() && ids_in.scalar_type() != torch::kBool,
        StatusCode::InvalidArgument, "UMT5 ids must be integers, got ",
        dtype_name(ids_in.scalar_type()));
    const int64_t batch = ids_in.size(0), len = ids_in.size(1);
    LIPAR_CHECK(batch > 0 && len > 0, StatusCode::ShapeMismatch, "UMT5 ids ",
                shape_string(ids_in.sizes()), " are empty");
    // Training (train()) records autograd history through the same code; inference does not.
    std::optional<torch::NoGradGuard> no_grad;
    if (!is_training())
        no_grad.emplace();
    auto ids = ids_in.to(m_options.device(), torch::kInt64);
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    LIPAR_CHECK(lo >= 0 && hi < m_config.vocab_size, StatusCode::InvalidArgument,
                "token ids must lie in [0, ", m_config.vocab_size, "), got values in [", lo, ", ",
                hi, "]");
    torch::Tensor key_padding;
    if (mask_in.defined()) {
        LIPAR_CHECK(mask_in.sizes() == ids_in.sizes(), StatusCode::ShapeMismatch, "UMT5 mask ",
                    shape_string(mask_in.sizes()), " does not match ids ",
                    shape_string(ids_in.sizes()));
        key_padding = mask_in.to(m_options.device()).eq(0).view({batch, 1, 1, len});
    } else {
        key_padding = torch::zeros({batch, 1, 1, len},
                                   torch::TensorOptions().dtype(torch::kBool).device(device()));
    }

    auto positions =
        torch::arange(len, torch::TensorOptions().dtype(torch::kInt64).device(device()));
    auto buckets = relative_position_bucket(positions.unsqueeze(0) - positions.unsqueeze(1),
                                            m_config.num_buckets, m_config.max_distance);
    auto x = torch::embedding(shared->weight, ids);
    for (auto& block : blocks)
        x = block->forward(x, buckets, key_padding);
    return t5_rms_norm(x, final_layer_norm->weight, m_config.eps);
}

void Umt5EncoderImpl::randomize(uint64_t seed) {
    LIPAR_CHECK(!m_released, StatusCode::Internal, "randomize() after release()");
    torch::NoGradGuard no_grad;
    auto generator = at::detail::createCPUGenerator(seed);
    auto fill = [&](const Umt5Weight& w, double std, double mean = 0.0) {
        auto values = torch::randn(w->weight.sizes(), generator, torch::kFloat32) * std + mean;
        w->weight.copy_(values);
    };
    const auto& c = m_config;
    const double inner = static_cast<double>(c.num_heads * c.d_kv);
    fill(shared, 1.0);
    for (auto& block : blocks) {
        fill(block->attention_norm, 0.1, 1.0);
        // No 1/sqrt(d_kv) in T5's attention: the query weights carry it (Mesh TensorFlow init).
        fill(block->attention->q, 1.0 / std::sqrt(c.d_model * static_cast<double>(c.d_kv)));
        fill(block->attention->k, 1.0 / std::sqrt(static_cast<double>(c.d_model)));
        fill(block->attention->v, 1.0 / std::sqrt(static_cast<double>(c.d_model)));
        fill(block->attention->o, 1.0 / std::sqrt(inner));
        fill(block->attention->relative_attention_bias, 0.5);
        fill(block->ffn_norm, 0.1, 1.0);
        fill(block->wi_0, 1.0 / std::sqrt(static_cast<double>(c.d_model)));
        fill(block->wi_1, 1.0 / std::sqrt(static_cast<double>(c.d_model)));
        fill(block->wo, 1.0 / std::sqrt(static_cast<double>(c.d_ff)));
    }
    fill(final_layer_norm, 0.1, 1.0);
}

void Umt5EncoderImpl::release() {
    torch::NoGradGuard no_grad;
    for (auto& p : parameters(/*recurse=*/true))
        p.set_data(torch::empty({0}, p.options()));
    m_released = true;
}

Umt5Encoder make_random_umt5(const Umt5Config& config,
                             const torch::TensorOptions& options,
                             uint64_t seed) {
    Umt5Encoder model(config, options);
    model->randomize(seed);
    return model;
}

}  // namespace lipar::model
