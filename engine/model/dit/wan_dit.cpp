#include "model/dit/wan_dit.h"

#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/device.h"
#include "core/error.h"
#include "model/common/attention.h"
#include "model/common/fused_ops.h"

namespace lipar::model {

namespace F = torch::nn::functional;

namespace {

torch::TensorOptions fp32_like(const torch::TensorOptions& o) { return o.dtype(torch::kFloat32); }

torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias, const torch::TensorOptions& o) {
    torch::nn::Linear l(torch::nn::LinearOptions(in, out).bias(bias));
    l->to(o.device(), torch::typeMetaToScalarType(o.dtype()));
    return l;
}

torch::Tensor linear(const torch::Tensor& x, const torch::nn::Linear& l) {
    const auto& w = l->weight;
    auto in = x.to(w.scalar_type());
    if (in.dim() > 2 && l->bias.defined()) {
        // As one 2-D addmm: the bias then rides in the matrix product's epilogue (cuBLASLt) where
        // LibTorch's 3-D linear adds it in a kernel of its own.
        auto sizes = in.sizes().vec();
        sizes.back() = w.size(0);
        return at::addmm(l->bias, in.reshape({-1, in.size(-1)}), w.t()).view(sizes);
    }
    return F::linear(in, w, l->bias);
}

torch::Tensor gelu_tanh(const torch::Tensor& x) { return torch::gelu(x, "tanh"); }

uint64_t tensor_version(const torch::Tensor& t) {
    // Weights made under c10::InferenceMode (the engine thread) keep no version counter; they
    // cannot be trained either, so they never change.
    return t.is_inference() ? 0 : t._version();
}

// Picks the per-token rows of a per-frame tensor [B, F, ...]: broadcastable [B, 1, ...] when F == 1,
// else [B, N, ...] gathered by frame_of_token.
torch::Tensor per_token(const torch::Tensor& per_frame, const torch::Tensor& frame_of_token) {
    if (per_frame.size(1) == 1) return per_frame;
    TORCH_CHECK(frame_of_token.defined(), "per-frame conditioning needs frame_of_token");
    return per_frame.index_select(1, frame_of_token);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
RmsNormImpl::RmsNormImpl(int64_t dim, double eps, torch::TensorOptions options) : m_eps(eps) {
    weight = register_parameter("weight", torch::ones({dim}, options));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
    const auto w = weight.scalar_type() == x.scalar_type() ? weight : weight.to(x.scalar_type());
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    // One fused kernel (statistics in float32); the weight is applied before the final rounding.
    if (x.is_cuda()) return at::rms_norm(x, {x.size(-1)}, w, m_eps);
#endif
    auto xf = x.to(torch::kFloat32);
    auto normed = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + m_eps);
    return normed.to(x.scalar_type()) * w;
}

WanLayerNormImpl::WanLayerNormImpl(int64_t dim, double eps, bool affine, torch::TensorOptions options)
    : m_dim(dim), m_eps(eps) {
    if (affine) {
        weight = register_parameter("weight", torch::ones({dim}, options));
        bias = register_parameter("bias", torch::zeros({dim}, options));
    }
}

std::pair<c10::optional<torch::Tensor>, c10::optional<torch::Tensor>> WanLayerNormImpl::affine_f32() {
    if (!weight.defined()) return {};
    if (weight.scalar_type() == torch::kFloat32) return {weight, bias};
    if (!m_w32.defined() || m_w_version != tensor_version(weight) ||
        m_b_version != tensor_version(bias) || m_w32.device() != weight.device()) {
        m_w32 = weight.detach().to(torch::kFloat32);
        m_b32 = bias.detach().to(torch::kFloat32);
        m_w_version = static_cast<uint32_t>(tensor_version(weight));
        m_b_version = static_cast<uint32_t>(tensor_version(bias));
    }
    return {m_w32, m_b32};
}

torch::Tensor WanLayerNormImpl::forward(const torch::Tensor& x) {
    if (x.scalar_type() != torch::kFloat32) {
        // A low-precision residual stream: the kernel accumulates the statistics in float32 and
        // writes the stream's dtype (Wan's norm(x.float()).type_as(x), in one pass).
        if (!weight.defined()) return at::layer_norm(x, {m_dim}, {}, {}, m_eps);
        if (weight.scalar_type() == x.scalar_type()) return at::layer_norm(x, {m_dim}, weight, bias, m_eps);
        auto [w, b] = affine_f32();
        return at::layer_norm(x.to(torch::kFloat32), {m_dim}, w, b, m_eps).to(x.scalar_type());
    }
    auto [w, b] = affine_f32();
    return at::layer_norm(x.to(torch::kFloat32), {m_dim}, w, b, m_eps);
}

torch::Tensor WanLayerNormImpl::normalized(const torch::Tensor& x, torch::Dtype out_dtype) {
    if (x.is_cuda() && fused_kernels_available()) {
        auto [w, b] = affine_f32();
        auto y = fused_layer_norm_modulate(x, m_eps, w ? *w : torch::Tensor(), b ? *b : torch::Tensor(),
                                           nullptr, nullptr, out_dtype);
        if (y.defined()) return y;
    }
    return forward(x).to(out_dtype);
}

torch::Tensor WanLayerNormImpl::modulated(const torch::Tensor& x, const torch::Tensor& scale,
                                          const torch::Tensor& shift) {
    const auto dt = x.scalar_type();
    if (!weight.defined() && scale.size(0) == 1 && scale.size(1) == 1 && shift.size(0) == 1 &&
        shift.size(1) == 1) {
        if (dt != torch::kFloat32) {
            return at::layer_norm(x, {m_dim}, scale.reshape({m_dim}).to(dt),
                                  shift.reshape({m_dim}).to(dt), m_eps);
        }
        return at::layer_norm(x.to(torch::kFloat32), {m_dim}, scale.reshape({m_dim}),
                              shift.reshape({m_dim}), m_eps);
    }
    if (dt != torch::kFloat32) return torch::addcmul(shift.to(dt), forward(x), scale.to(dt));
    return torch::addcmul(shift, forward(x), scale);
}

WanAttentionImpl::WanAttentionImpl(int64_t dim, int64_t heads_, double eps,
                                   torch::TensorOptions options, bool fused_qkv)
    : heads(heads_) {
    q = register_module("q", make_linear(dim, dim, true, options));
    k = register_module("k", make_linear(dim, dim, true, options));
    v = register_module("v", make_linear(dim, dim, true, options));
    o = register_module("o", make_linear(dim, dim, true, options));
    norm_q = register_module("norm_q", RmsNorm(dim, eps, options));
    norm_k = register_module("norm_k", RmsNorm(dim, eps, options));
    if (fused_qkv) {
        // One storage for the three weights (and one for the biases), each parameter a view of
        // its rows: no second copy of the weights for the fused projection.
        torch::NoGradGuard no_grad;
        auto w = torch::cat({q->weight, k->weight, v->weight});
        auto b = torch::cat({q->bias, k->bias, v->bias});
        q->weight.set_data(w.narrow(0, 0, dim));
        k->weight.set_data(w.narrow(0, dim, dim));
        v->weight.set_data(w.narrow(0, 2 * dim, dim));
        q->bias.set_data(b.narrow(0, 0, dim));
        k->bias.set_data(b.narrow(0, dim, dim));
        v->bias.set_data(b.narrow(0, 2 * dim, dim));
    }
}

namespace {
// a, b, c contiguous, of one shape, dtype and device, and consecutive in one storage: the view of
// all three stacked along dim 0; else undefined.
torch::Tensor consecutive_view(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& c) {
    if (!a.defined() || !b.defined() || !c.defined() || !a.is_contiguous() || !b.is_contiguous() ||
        !c.is_contiguous() || a.sizes() != b.sizes() || a.sizes() != c.sizes() ||
        a.scalar_type() != b.scalar_type() || a.scalar_type() != c.scalar_type() ||
        a.device() != b.device() || a.device() != c.device() || a.dim() == 0 ||
        !a.storage().is_alias_of(b.storage()) || !a.storage().is_alias_of(c.storage()))
        return {};
    const int64_t bytes = a.numel() * static_cast<int64_t>(a.element_size());
    const auto* pa = static_cast<const char*>(a.data_ptr());
    if (static_cast<const char*>(b.data_ptr()) != pa + bytes ||
        static_cast<const char*>(c.data_ptr()) != pa + 2 * bytes)
        return {};
    auto sizes = a.sizes().vec();
    sizes[0] *= 3;
    return a.as_strided(sizes, a.strides());
}
}  // namespace

torch::Tensor WanAttentionImpl::qkv_weight() const { return consecutive_view(q->weight, k->weight, v->weight); }
torch::Tensor WanAttentionImpl::qkv_bias() const { return consecutive_view(q->bias, k->bias, v->bias); }

// ---------------------------------------------------------------------------------------------
WanBlockImpl::WanBlockImpl(const DitConfig& c, torch::TensorOptions options)
    : m_dtype(torch::typeMetaToScalarType(options.dtype())), m_heads(c.num_heads) {
    modulation = register_parameter(
        "modulation", torch::randn({1, 6, c.dim}, fp32_like(options)) / std::sqrt(double(c.dim)));
    self_attn = register_module("self_attn", WanAttention(c.dim, c.num_heads, c.eps, options, true));
    cross_attn = register_module("cross_attn", WanAttention(c.dim, c.num_heads, c.eps, options));
    norm1 = register_module("norm1", WanLayerNorm(c.dim, c.eps, false, options));
    norm2 = register_module("norm2", WanLayerNorm(c.dim, c.eps, false, options));
    norm3 = register_module("norm3", WanLayerNorm(c.dim, c.eps, true, options));
    ffn = register_module("ffn", torch::nn::Sequential(make_linear(c.dim, c.ffn_dim, true, options),
                                                       torch::nn::Functional(gelu_tanh),
                                                       make_linear(c.ffn_dim, c.dim, true, options)));
}

torch::Tensor WanBlockImpl::self_attention(const torch::Tensor& h, const RopeTable& rope,
                                           KvProvider* kv, int64_t layer,
                                           const c10::optional<torch::Tensor>& mask) {
    const int64_t b = h.size(0), n = h.size(1), d = h.size(2) / m_heads;
    auto& a = *self_attn;
    AttentionInputs in;
    if (h.is_cuda() && fused_kernels_available()) {
        // One matrix product for q, k and v, then one kernel for both RMSNorms, RoPE and the
        // writes of k and v (into the cache's slot when the provider offers it).
        const auto w = a.qkv_weight(), bias = a.qkv_bias();
        if (w.defined() && bias.defined()) {
            auto qkv = at::addmm(bias, h.to(w.scalar_type()).reshape({b * n, h.size(2)}), w.t());
            const auto slots = kv ? kv->write_slots(layer, b, n) : std::pair<torch::Tensor, torch::Tensor>{};
            in = fused_qk_norm_rope(qkv, b, m_heads, a.norm_q->weight, a.norm_k->weight,
                                    a.norm_q->eps(), rope, slots.first, slots.second);
        }
    }
    if (!in.q.defined()) {
        in.q = apply_rope(a.norm_q(linear(h, a.q)).view({b, n, m_heads, d}), rope);
        in.k_pre = a.norm_k(linear(h, a.k)).view({b, n, m_heads, d});
        in.v = linear(h, a.v).view({b, n, m_heads, d});
        in.k = apply_rope(in.k_pre, rope);
    }
    const auto& q = in.q;
    const auto& k_pre = in.k_pre;
    const auto& k = in.k;
    const auto& v = in.v;
    torch::Tensor out;
    if (kv) {
        auto [keys, values] = kv->keys_values(layer, k_pre, k, v);
        out = attention(q, keys, values);
    } else {
        out = attention(q, k, v, mask);
    }
    return linear(out.reshape({b, n, m_heads * d}), a.o);
}

torch::Tensor WanBlockImpl::ffn_forward(const torch::Tensor& h) {
#if TORCH_VERSION_MAJOR >= 2
    if (h.is_cuda() && !torch::GradMode::is_enabled()) {
        // The first projection and its GELU in one cuBLASLt call (its GELU epilogue is the tanh
        // approximation Wan's FFN uses).
        const auto& fc1 = *ffn->ptr(0)->as<torch::nn::Linear>();
        const auto& fc2 = *ffn->ptr(2)->as<torch::nn::Linear>();
        auto a = at::_addmm_activation(fc1.bias, h.reshape({-1, h.size(-1)}), fc1.weight.t(), 1, 1,
                                       /*use_gelu=*/true);
        return F::linear(a, fc2.weight, fc2.bias).view({h.size(0), h.size(1), fc2.weight.size(0)});
    }
#endif
    return ffn->forward(h);
}

torch::Tensor WanBlockImpl::cross_attention(const torch::Tensor& h, const torch::Tensor& k,
                                            const torch::Tensor& v) {
    const int64_t b = h.size(0), n = h.size(1), d = h.size(2) / m_heads;
    auto& a = *cross_attn;
    auto q = a.norm_q(linear(h, a.q)).view({b, n, m_heads, d});
    auto out = attention(q, k, v);
    return linear(out.reshape({b, n, m_heads * d}), a.o);
}

torch::Tensor WanBlockImpl::modulation_rows(const torch::Tensor& e0) const {
    auto rows = e0 + modulation.unsqueeze(0);
    rows.select(2, 1).add_(1.0);
    rows.select(2, 4).add_(1.0);
    return rows;
}

torch::Tensor WanBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& e0,
                                    const torch::Tensor& frame_of_token, const RopeTable& rope,
                                    const torch::Tensor& cross_k, const torch::Tensor& cross_v,
                                    KvProvider* kv, int64_t layer,
                                    const c10::optional<torch::Tensor>& mask,
                                    const torch::Tensor& mod_rows) {
    // [B, F, 6, dim] float32: shift, 1 + scale, gate (twice) per frame. On CUDA the custom kernels
    // read them through frame_of_token (model/common/fused_ops.h); the LibTorch path gathers six
    // [B, 1 or N, dim] rows, in the stream's dtype when that is low precision
    // (WanDitImpl::set_bf16_residual).
    const auto rows = mod_rows.defined() ? mod_rows : modulation_rows(e0);
    const bool fused = x.is_cuda() && fused_kernels_available();
    torch::Tensor mod;
    auto row = [&](int64_t i) {
        if (!mod.defined()) {
            mod = per_token(rows, frame_of_token);
            if (x.scalar_type() != torch::kFloat32) mod = mod.to(x.scalar_type());
        }
        return mod.select(2, i);
    };
    auto frame_rows = [&](int64_t i) { return FrameRows{rows.select(2, i), frame_of_token}; };
    // norm(in) * (1 + scale) + shift, in the projections' dtype
    auto modulated = [&](WanLayerNorm& norm, const torch::Tensor& in, int64_t scale, int64_t shift) {
        if (fused) {
            const auto sc = frame_rows(scale), sh = frame_rows(shift);
            auto h = fused_layer_norm_modulate(in, norm->eps(), {}, {}, &sc, &sh, m_dtype);
            if (h.defined()) return h;
        }
        return norm->modulated(in, row(scale), row(shift)).to(m_dtype);
    };
    // in + branch * gate; the float32 residual stream takes the bf16 branch outputs with type
    // promotion (addcmul): no separate casts.
    auto gated = [&](const torch::Tensor& in, const torch::Tensor& branch, int64_t gate) {
        if (fused) {
            auto out = fused_gated_residual(in, branch, frame_rows(gate));
            if (out.defined()) return out;
        }
        return torch::addcmul(in, branch, row(gate));
    };
    auto y = self_attention(modulated(norm1, x, 1, 0), rope, kv, layer, mask);
    auto out = gated(x, y, 2);
    out = out.add(cross_attention(norm3->normalized(out, m_dtype), cross_k, cross_v));
    return gated(out, ffn_forward(modulated(norm2, out, 4, 3)), 5);
}

// ---------------------------------------------------------------------------------------------
WanHeadImpl::WanHeadImpl(const DitConfig& c, torch::TensorOptions options) {
    head = register_module("head", make_linear(c.dim, c.out_channels * c.patch_volume(), true,
                                               fp32_like(options)));
    modulation = register_parameter(
        "modulation", torch::randn({1, 2, c.dim}, fp32_like(options)) / std::sqrt(double(c.dim)));
    norm = register_module("norm", WanLayerNorm(c.dim, c.eps, false, options));
}

torch::Tensor WanHeadImpl::forward(const torch::Tensor& x, const torch::Tensor& e,
                                   const torch::Tensor& frame_of_token) {
    // e [B, F, dim] -> [B, F, 2, dim] + modulation
    auto mod = per_token(e.unsqueeze(2) + modulation.unsqueeze(0), frame_of_token);
    auto h = norm->modulated(x, 1 + mod.select(2, 1), mod.select(2, 0));
    return linear(h, head);
}

// ---------------------------------------------------------------------------------------------
WanDitImpl::WanDitImpl(const DitConfig& config, torch::TensorOptions options)
    : m_config(config), m_options(options) {
    m_config.validate();
    const auto& c = m_config;
    auto f32 = fp32_like(options);
    torch::nn::Conv3d conv(torch::nn::Conv3dOptions(c.in_channels, c.dim,
                                                    {c.patch[0], c.patch[1], c.patch[2]})
                               .stride({c.patch[0], c.patch[1], c.patch[2]}));
    conv->to(options.device(), torch::typeMetaToScalarType(options.dtype()));
    patch_embedding = register_module("patch_embedding", conv);
    text_embedding = register_module(
        "text_embedding",
        torch::nn::Sequential(make_linear(c.text_dim, c.dim, true, options),
                              torch::nn::Functional(gelu_tanh),
                              make_linear(c.dim, c.dim, true, options)));
    time_embedding = register_module(
        "time_embedding",
        torch::nn::Sequential(make_linear(c.freq_dim, c.dim, true, f32),
                              torch::nn::Functional(torch::silu), make_linear(c.dim, c.dim, true, f32)));
    time_projection = register_module(
        "time_projection", torch::nn::Sequential(torch::nn::Functional(torch::silu),
                                                 make_linear(c.dim, 6 * c.dim, true, f32)));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.num_layers; ++i) {
        m_blocks.emplace_back(c, options);
        blocks->push_back(m_blocks.back());
    }
    head = register_module("head", WanHead(c, options));
    eval();
}

std::array<int64_t, 3> token_grid(const DitConfig& c, c10::IntArrayRef s) {
    LIPAR_CHECK(s.size() == 5, StatusCode::ShapeMismatch, "DiT latents must be [B, C, F, H, W], got ",
                shape_string(s));
    LIPAR_CHECK(s[1] == c.in_channels, StatusCode::ShapeMismatch, "DiT latents have ", s[1],
                " channels, the model takes ", c.in_channels);
    for (int i = 0; i < 3; ++i) {
        LIPAR_CHECK(s[2 + i] % c.patch[i] == 0 && s[2 + i] > 0, StatusCode::ShapeMismatch,
                    "DiT latent size ", shape_string(s), " is not divisible by the patch ",
                    c.patch[0], "x", c.patch[1], "x", c.patch[2]);
    }
    return {s[2] / c.patch[0], s[3] / c.patch[1], s[4] / c.patch[2]};
}

torch::Tensor sinusoidal_embedding(const torch::Tensor& t, int64_t dim) {
    const int64_t half = dim / 2;
    auto pos = t.to(torch::kFloat64).reshape({-1});
    auto i = torch::arange(half, pos.options());
    auto freqs = torch::pow(10000.0, -i / static_cast<double>(half));
    auto s = torch::outer(pos, freqs);
    return torch::cat({torch::cos(s), torch::sin(s)}, 1);
}

uint64_t WanDitImpl::time_weights_version() const {
    uint64_t v = 0;
    for (const auto& m : {time_embedding, time_projection}) {
        for (const auto& p : m->parameters()) v += tensor_version(p);
    }
    for (const auto& b : m_blocks) v += tensor_version(b->modulation);
    return v;
}

TimeConditioning WanDitImpl::time_conditioning(const torch::Tensor& t_in) {
    const bool inference = !is_training() && !torch::GradMode::is_enabled();
    const bool cacheable = inference && t_in.device().is_cpu() && t_in.numel() == 1;
    double key = 0;
    if (cacheable) {
        key = t_in.to(torch::kFloat64).item<double>();
        const uint64_t version = time_weights_version();
        if (version != m_time_cache_version) {
            m_time_cache.clear();
            m_time_cache_version = version;
        }
        auto it = m_time_cache.find(key);
        if (it != m_time_cache.end()) return it->second;
    }
    auto made = make_time_conditioning(t_in);
    if (inference) {
        std::vector<torch::Tensor> rows;
        for (const auto& b : m_blocks) rows.push_back(b->modulation_rows(made.e0.to(b->modulation.device())));
        if (m_device_slot.empty()) {
            made.block_mod_all = torch::stack(rows);
            made.block_mod = made.block_mod_all.unbind(0);
        } else {
            made.block_mod = rows;  // on the blocks' devices (no one tensor for a CUDA graph)
        }
    }
    if (cacheable) {
        if (m_time_cache.size() >= 64) m_time_cache.clear();
        m_time_cache.emplace(key, made);
    }
    return made;
}

TimeConditioning WanDitImpl::make_time_conditioning(const torch::Tensor& t_in) {
    auto t = t_in.to(device(), torch::kFloat64);
    if (t.dim() == 1) t = t.unsqueeze(1);
    LIPAR_CHECK(t.dim() == 2, StatusCode::ShapeMismatch, "timesteps must be [B] or [B, F], got ",
                shape_string(t_in.sizes()));
    // One conditioning row when every frame of a row shares its timestep (the common case).
    if (t.size(1) > 1 && torch::equal(t, t.narrow(1, 0, 1).expand_as(t))) t = t.narrow(1, 0, 1);
    const int64_t b = t.size(0), f = t.size(1);
    auto feats = sinusoidal_embedding(t, m_config.freq_dim).to(torch::kFloat32);
    auto e = time_embedding->forward(feats);
    auto e0 = time_projection->forward(e);
    TimeConditioning out;
    out.e = e.view({b, f, m_config.dim});
    out.e0 = e0.view({b, f, 6, m_config.dim});
    return out;
}

CrossAttnCache WanDitImpl::encode_context(const torch::Tensor& context) {
    LIPAR_CHECK(context.dim() == 3 && context.size(2) == m_config.text_dim,
                StatusCode::ShapeMismatch, "text context must be [B, L, ", m_config.text_dim,
                "], got ", shape_string(context.sizes()));
    auto ctx = text_embedding->forward(context.to(device(), dtype()));
    const int64_t b = ctx.size(0), l = ctx.size(1), h = m_config.num_heads, d = m_config.head_dim();
    std::vector<torch::Tensor> ctx_on;  // per device slot
    for (const auto& dev : m_devices.empty() ? std::vector<torch::Device>{device()} : m_devices)
        ctx_on.push_back(ctx.to(dev));
    CrossAttnCache cache;
    for (size_t i = 0; i < m_blocks.size(); ++i) {
        auto& a = *m_blocks[i]->cross_attn;
        const auto& c = ctx_on[device_slot(static_cast<int64_t>(i))];
        cache.k.push_back(a.norm_k(linear(c, a.k)).view({b, l, h, d}));
        cache.v.push_back(linear(c, a.v).view({b, l, h, d}));
    }
    return cache;
}

torch::Tensor WanDitImpl::embed_patches(const torch::Tensor& x) {
    // The stride == kernel Conv3d as one matrix product over flattened (c, p, q, r) patches: the
    // same arithmetic, no cuDNN algorithm choice (so no TF32 in float32), and it can embed any
    // subset of patches.
    const auto& c = m_config;
    const auto grid = token_grid(c, x.sizes());
    const int64_t b = x.size(0);
    auto p = x.to(device(), dtype())
                 .view({b, c.in_channels, grid[0], c.patch[0], grid[1], c.patch[1], grid[2], c.patch[2]})
                 .permute({0, 2, 4, 6, 1, 3, 5, 7})
                 .reshape({b, grid[0] * grid[1] * grid[2], c.in_channels * c.patch_volume()});
    const auto& w = patch_embedding->weight;
    return F::linear(p, w.view({w.size(0), -1}), patch_embedding->bias).to(residual_dtype());
}

torch::Dtype WanDitImpl::residual_dtype() const {
    const bool inference = !is_training() && !torch::GradMode::is_enabled();
    return m_bf16_residual && inference && dtype() == torch::kBFloat16 ? torch::kBFloat16
                                                                       : torch::kFloat32;
}

namespace {

// `t` [B, n, ...] padded with zeros along dim 1 to `tokens` rows (a token worker's share to the
// common size all_gather needs).
torch::Tensor pad_tokens(const torch::Tensor& t, int64_t tokens) {
    if (t.size(1) == tokens) return t.contiguous();
    auto sizes = t.sizes().vec();
    sizes[1] = tokens - t.size(1);
    return torch::cat({t, torch::zeros(sizes, t.options())}, 1);
}

// A token worker's KV provider: the layer's k_pre, k and v of its share of the tokens, gathered
// with every other worker's (one transfer) before its own provider stages them for the pass's
// n tokens.
class GatheringKv final : public KvProvider {
public:
    GatheringKv(KvProvider& inner, TokenGroup& group, int64_t tokens, int64_t share)
        : m_inner(inner), m_group(group), m_tokens(tokens), m_share(share) {}
    std::pair<torch::Tensor, torch::Tensor> keys_values(int64_t layer, const torch::Tensor& k_pre,
                                                        const torch::Tensor& k, const torch::Tensor& v) override {
        const int64_t d = k.size(3);
        auto all = m_group.all_gather(pad_tokens(torch::cat({k_pre, k, v}, 3), m_share)).narrow(1, 0, m_tokens);
        return m_inner.keys_values(layer, all.narrow(3, 0, d), all.narrow(3, d, d), all.narrow(3, 2 * d, d));
    }

private:
    KvProvider& m_inner;
    TokenGroup& m_group;
    int64_t m_tokens, m_share;
};

}  // namespace

void WanDitImpl::set_layer_runner(std::shared_ptr<LayerRunner> runner) {
    LIPAR_CHECK(!runner || !m_tokens, StatusCode::InvalidArgument,
                "pipeline stages and token workers cannot be combined");
    m_runner = std::move(runner);
}

void WanDitImpl::set_token_group(std::shared_ptr<TokenGroup> group) {
    LIPAR_CHECK(!group || !m_runner, StatusCode::InvalidArgument,
                "pipeline stages and token workers cannot be combined");
    m_tokens = std::move(group);
}

torch::Tensor WanDitImpl::forward_token_share(const DitTokens& tokens, const TimeConditioning& time,
                                              const CrossAttnCache& cross, KvProvider& kv,
                                              const LayerHook& after_layer) {
    auto& group = *m_tokens;
    const int64_t n = tokens.x.size(1), share = (n + group.size() - 1) / group.size();
    const int64_t begin = group.rank() * share, len = std::min(n, begin + share) - begin;
    auto rows = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(0, begin, len) : t; };
    DitTokens mine;
    mine.x = tokens.x.narrow(1, begin, len);
    mine.frame_of_token = rows(tokens.frame_of_token);
    mine.rope = RopeTable{rows(tokens.rope.cos), rows(tokens.rope.sin), rows(tokens.rope.rotation)};
    GatheringKv gathered(kv, group, n, share);
    const auto inputs = block_inputs(mine, time, c10::nullopt);
    torch::Tensor x = mine.x;
    for (int64_t i = 0; i < m_config.num_layers; ++i)
        x = run_block(i, x, inputs, time.block_mod, cross, &gathered, after_layer);
    auto out = head->forward(x.to(device()), time.e, mine.frame_of_token);
    return group.all_gather(pad_tokens(out, share)).narrow(1, 0, n).contiguous();
}

torch::Tensor WanDitImpl::forward_tokens(const DitTokens& tokens, const TimeConditioning& time,
                                         const CrossAttnCache& cross, KvProvider* kv,
                                         const c10::optional<torch::Tensor>& mask,
                                         const LayerHook& after_layer) {
    LIPAR_CHECK(static_cast<int64_t>(cross.k.size()) == m_config.num_layers, StatusCode::Internal,
                "cross-attention cache has ", cross.k.size(), " layers, the model ",
                m_config.num_layers);
    LIPAR_CHECK(time.e0.size(0) == tokens.x.size(0) && cross.k[0].size(0) == tokens.x.size(0),
                StatusCode::ShapeMismatch, "batch sizes of latents (", tokens.x.size(0),
                "), timesteps (", time.e0.size(0), ") and context (", cross.k[0].size(0),
                ") differ");
    if (m_tokens && m_tokens->size() > 1 && kv && !mask) {
        // Token workers share the pass when every one gets tokens; else each computes all of
        // them (the same result on every worker).
        const int64_t n = tokens.x.size(1), share = (n + m_tokens->size() - 1) / m_tokens->size();
        if ((m_tokens->size() - 1) * share < n) return forward_token_share(tokens, time, cross, *kv, after_layer);
    }
    const auto inputs = block_inputs(tokens, time, mask);
    auto layer = [&](int64_t i, const torch::Tensor& x) {
        return run_block(i, x, inputs, time.block_mod, cross, kv, after_layer);
    };
    torch::Tensor x = tokens.x;
    if (m_runner) {
        x = m_runner->run(x, m_config.num_layers, layer);
    } else {
        for (int64_t i = 0; i < m_config.num_layers; ++i) x = layer(i, x);
    }
    return head->forward(x.to(device()), time.e, tokens.frame_of_token);
}

void WanDitImpl::forward_tokens_detached(const DitTokens& tokens, const TimeConditioning& time,
                                         const CrossAttnCache& cross, std::shared_ptr<KvProvider> kv,
                                         LayerHook after_layer) {
    LIPAR_CHECK(static_cast<int64_t>(cross.k.size()) == m_config.num_layers && kv, StatusCode::Internal,
                "a detached pass needs every block's cross-attention K/V and a KV provider");
    if (!m_runner) {
        forward_tokens(tokens, time, cross, kv.get(), c10::nullopt, after_layer);  // the head's cost is small
        return;
    }
    // Everything by value: the caller's copies are gone by the time the last stage runs.
    struct Pass {
        std::vector<BlockInputs> inputs;
        std::vector<torch::Tensor> block_mod;
        CrossAttnCache cross;
        std::shared_ptr<KvProvider> kv;
        LayerHook after_layer;
    };
    auto pass = std::make_shared<Pass>(
        Pass{block_inputs(tokens, time, c10::nullopt), time.block_mod, cross, std::move(kv), std::move(after_layer)});
    auto layer = [this, pass](int64_t i, const torch::Tensor& x) {
        return run_block(i, x, pass->inputs, pass->block_mod, pass->cross, pass->kv.get(), pass->after_layer);
    };
    m_runner->run_detached(tokens.x, m_config.num_layers, layer);
}

torch::Tensor WanDitImpl::run_block(int64_t i, const torch::Tensor& x, const std::vector<BlockInputs>& inputs,
                                    const std::vector<torch::Tensor>& block_mod, const CrossAttnCache& cross,
                                    KvProvider* kv, const LayerHook& after_layer) {
    const auto& in = inputs[device_slot(i)];
    const auto& mod = block_mod.empty() ? torch::Tensor() : block_mod[static_cast<size_t>(i)];
    // The activations cross to the block's device when the one before sat elsewhere.
    auto y = m_blocks[static_cast<size_t>(i)]->forward(x.to(in.e0.device()), in.e0, in.frame_of_token, in.rope,
                                                       cross.k[i], cross.v[i], kv, i, in.mask, mod);
    if (after_layer) after_layer(i);
    return y;
}

void WanDitImpl::place_blocks(const std::vector<torch::Device>& devices) {
    LIPAR_CHECK(devices.empty() || static_cast<int64_t>(devices.size()) == m_config.num_layers,
                StatusCode::InvalidArgument, "a device for each of the ", m_config.num_layers, " blocks, got ",
                devices.size());
    m_devices.clear();
    m_device_slot.clear();
    m_time_cache.clear();  // its modulation rows were made where the blocks were
    if (devices.empty() ||
        std::all_of(devices.begin(), devices.end(), [&](const torch::Device& d) { return d == device(); })) {
        for (auto& b : m_blocks) b->to(device());
        return;
    }
    m_devices.push_back(device());
    for (size_t i = 0; i < devices.size(); ++i) {
        auto it = std::find(m_devices.begin(), m_devices.end(), devices[i]);
        if (it == m_devices.end()) it = m_devices.insert(m_devices.end(), devices[i]);
        m_device_slot.push_back(static_cast<size_t>(it - m_devices.begin()));
        m_blocks[i]->to(devices[i]);
    }
}

torch::Device WanDitImpl::block_device(int64_t index) const {
    return m_device_slot.empty() ? device() : m_devices[device_slot(index)];
}

std::vector<torch::Device> WanDitImpl::block_devices() const {
    std::vector<torch::Device> out;
    for (int64_t i = 0; i < m_config.num_layers; ++i) out.push_back(block_device(i));
    return out;
}

std::vector<WanDitImpl::BlockInputs> WanDitImpl::block_inputs(const DitTokens& tokens, const TimeConditioning& time,
                                                              const c10::optional<torch::Tensor>& mask) const {
    std::vector<BlockInputs> out{BlockInputs{time.e0, tokens.frame_of_token, tokens.rope, mask}};
    for (size_t s = 1; s < m_devices.size(); ++s) {
        const auto& d = m_devices[s];
        auto on = [&](const torch::Tensor& t) { return t.defined() ? t.to(d) : t; };
        BlockInputs in;
        in.e0 = on(time.e0);
        in.frame_of_token = on(tokens.frame_of_token);
        in.rope = RopeTable{on(tokens.rope.cos), on(tokens.rope.sin), on(tokens.rope.rotation)};
        if (mask) in.mask = mask->to(d);
        out.push_back(std::move(in));
    }
    return out;
}

torch::Tensor WanDitImpl::unpatchify(const torch::Tensor& tokens, int64_t frames, int64_t gh,
                                     int64_t gw) const {
    const auto& c = m_config;
    const int64_t b = tokens.size(0);
    // [B, f, h, w, p, q, r, C] -> [B, C, f, p, h, q, w, r]
    auto y = tokens.view({b, frames, gh, gw, c.patch[0], c.patch[1], c.patch[2], c.out_channels});
    y = y.permute({0, 7, 1, 4, 2, 5, 3, 6});
    return y.reshape({b, c.out_channels, frames * c.patch[0], gh * c.patch[1], gw * c.patch[2]});
}

torch::Tensor WanDitImpl::forward(const torch::Tensor& x, const torch::Tensor& t,
                                  const torch::Tensor& context, const DenseOptions& options) {
    // Training (train()) records autograd history through the same code; inference does not.
    std::optional<torch::NoGradGuard> no_grad;
    if (!is_training()) no_grad.emplace();
    const auto grid = token_grid(m_config, x.sizes());
    const int64_t frames = grid[0], n = grid[0] * grid[1] * grid[2];
    auto time = time_conditioning(t);
    LIPAR_CHECK(time.frames() == 1 || time.frames() == frames, StatusCode::ShapeMismatch,
                "timesteps have ", time.frames(), " frames, the latents ", frames);
    std::vector<int64_t> fpos = options.frame_positions;
    if (fpos.empty()) {
        for (int64_t i = 0; i < frames; ++i) fpos.push_back(i);
    }
    LIPAR_CHECK(static_cast<int64_t>(fpos.size()) == frames, StatusCode::InvalidArgument,
                "frame_positions has ", fpos.size(), " entries for ", frames, " frames");
    DitTokens tokens;
    tokens.x = embed_patches(x);
    tokens.rope = make_rope_table(grid_positions(fpos, grid[1], grid[2], device()),
                                  m_config.head_dim());
    if (time.frames() > 1) {
        tokens.frame_of_token = torch::arange(frames, torch::TensorOptions(torch::kInt64).device(device()))
                                    .repeat_interleave(grid[1] * grid[2]);
    }
    c10::optional<torch::Tensor> mask;
    if (options.mask) {
        LIPAR_CHECK(options.mask->dim() == 2 && options.mask->size(0) == n &&
                        options.mask->size(1) == n,
                    StatusCode::ShapeMismatch, "attention mask must be [", n, ", ", n, "]");
        mask = options.mask->to(device(), torch::kBool);
    }
    auto cross = encode_context(context);
    auto out = forward_tokens(tokens, time, cross, nullptr, mask);
    return unpatchify(out, grid[0], grid[1], grid[2]);
}

void init_random_weights(WanDitImpl& dit, uint64_t seed) {
    torch::NoGradGuard no_grad;
    auto gen = at::detail::createCPUGenerator(seed);
    for (auto& item : dit.named_parameters()) {
        auto& p = item.value();
        const auto& name = item.key();
        torch::Tensor value;
        const bool is_bias = name.size() > 5 && name.substr(name.size() - 5) == ".bias";
        if (is_bias) {
            value = torch::randn(p.sizes(), gen) * 0.02;
        } else if (name.find("norm") != std::string::npos) {
            value = torch::ones(p.sizes());
        } else if (name.find("modulation") != std::string::npos) {
            value = torch::randn(p.sizes(), gen) / std::sqrt(double(p.size(-1)));
        } else {
            // fan-in scaled so activations keep unit scale through the stack
            const int64_t fan_in = p.numel() / p.size(0);
            value = torch::randn(p.sizes(), gen) / std::sqrt(double(fan_in));
        }
        p.copy_(value);
    }
}

}  // namespace lipar::model
