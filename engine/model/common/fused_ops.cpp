#include "model/common/fused_ops.h"

#include <atomic>
#include <cstdlib>
#include <string>

#ifdef LIPAR_HAVE_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "kernels/fused_kernels.h"
#endif

namespace lipar::model {

namespace {
bool fused_default() {
    const char* env = std::getenv("LIPAR_FUSED_KERNELS");
    return !(env && std::string(env) == "0");
}
std::atomic<bool> g_fused{fused_default()};

#ifdef LIPAR_HAVE_CUDA_KERNELS
bool float_type(torch::Dtype t) {
    return t == torch::kFloat32 || t == torch::kBFloat16 || t == torch::kHalf;
}

kernels::ElementType element_type(torch::Dtype t) {
    if (t == torch::kBFloat16) return kernels::ElementType::BFloat16;
    if (t == torch::kHalf) return kernels::ElementType::Float16;
    return kernels::ElementType::Float32;
}

// x [B, N, dim] contiguous on CUDA in a float dtype.
bool stream_fits(const torch::Tensor& x) {
    return g_fused.load() && x.defined() && x.is_cuda() && x.dim() == 3 && x.is_contiguous() &&
           float_type(x.scalar_type());
}

bool vector_fits(const torch::Tensor& v, const torch::Tensor& x) {
    return v.defined() && v.scalar_type() == torch::kFloat32 && v.device() == x.device() &&
           v.dim() == 1 && v.size(0) == x.size(2) && v.is_contiguous();
}

// rows [B or 1, F, dim] float32, dim contiguous; F == 1 or frame_of_token [N] int64 on the device.
bool rows_fit(const FrameRows& r, const torch::Tensor& x) {
    const auto& t = r.rows;
    if (!t.defined() || t.scalar_type() != torch::kFloat32 || t.device() != x.device() ||
        t.dim() != 3 || t.size(2) != x.size(2) || t.stride(2) != 1 ||
        (t.size(0) != x.size(0) && t.size(0) != 1))
        return false;
    if (t.size(1) == 1) return true;
    const auto& f = r.frame_of_token;
    return f.defined() && f.scalar_type() == torch::kInt64 && f.device() == x.device() &&
           f.dim() == 1 && f.size(0) == x.size(1) && f.is_contiguous();
}

int64_t batch_stride(const torch::Tensor& rows) { return rows.size(0) == 1 ? 0 : rows.stride(0); }
const int64_t* frames(const FrameRows& r) {
    return r.rows.size(1) == 1 ? nullptr : r.frame_of_token.data_ptr<int64_t>();
}
#endif
}  // namespace

bool fused_kernels_available() {
#ifdef LIPAR_HAVE_CUDA_KERNELS
    return g_fused.load();
#else
    return false;
#endif
}

void set_fused_kernels(bool on) { g_fused = on; }

torch::Tensor fused_layer_norm_modulate(const torch::Tensor& x, double eps, const torch::Tensor& weight,
                                        const torch::Tensor& bias, const FrameRows* scale,
                                        const FrameRows* shift, torch::Dtype out_dtype) {
#ifdef LIPAR_HAVE_CUDA_KERNELS
    if (!stream_fits(x) || !float_type(out_dtype) || x.size(2) > 12288) return {};
    if (weight.defined() && !(vector_fits(weight, x) && vector_fits(bias, x))) return {};
    if ((scale == nullptr) != (shift == nullptr)) return {};
    if (scale && !(rows_fit(*scale, x) && rows_fit(*shift, x) &&
                   scale->rows.strides() == shift->rows.strides() &&
                   scale->rows.sizes() == shift->rows.sizes() &&
                   (scale->rows.size(1) == 1 || scale->frame_of_token.is_same(shift->frame_of_token))))
        return {};
    c10::cuda::CUDAGuard guard(x.device());
    auto y = torch::empty(x.sizes(), x.options().dtype(out_dtype));
    kernels::layer_norm_modulate(
        element_type(x.scalar_type()), x.data_ptr(), element_type(out_dtype), y.data_ptr(), x.size(0),
        x.size(1), x.size(2), static_cast<float>(eps),
        weight.defined() ? weight.data_ptr<float>() : nullptr,
        weight.defined() ? bias.data_ptr<float>() : nullptr,
        scale ? scale->rows.data_ptr<float>() : nullptr, scale ? shift->rows.data_ptr<float>() : nullptr,
        scale ? batch_stride(scale->rows) : 0, scale ? scale->rows.stride(1) : 0,
        scale ? frames(*scale) : nullptr, c10::cuda::getCurrentCUDAStream(x.device().index()).stream());
    return y;
#else
    return {};
#endif
}

torch::Tensor fused_gated_residual(const torch::Tensor& x, const torch::Tensor& y, const FrameRows& gate) {
#ifdef LIPAR_HAVE_CUDA_KERNELS
    if (!stream_fits(x) || !y.defined() || y.sizes() != x.sizes() || !y.is_contiguous() ||
        y.device() != x.device() || !float_type(y.scalar_type()) || !rows_fit(gate, x))
        return {};
    c10::cuda::CUDAGuard guard(x.device());
    auto out = torch::empty_like(x);
    kernels::gated_residual(element_type(x.scalar_type()), x.data_ptr(), element_type(y.scalar_type()),
                            y.data_ptr(), out.data_ptr(), x.size(0), x.size(1), x.size(2),
                            gate.rows.data_ptr<float>(), batch_stride(gate.rows), gate.rows.stride(1),
                            frames(gate), c10::cuda::getCurrentCUDAStream(x.device().index()).stream());
    return out;
#else
    return {};
#endif
}

#ifdef LIPAR_HAVE_CUDA_KERNELS
namespace {
// [B, N, H, D] on x's device and dtype with [H, D] contiguous and even token/batch strides.
bool heads_fit(const torch::Tensor& t, const torch::Tensor& like) {
    return t.defined() && t.is_cuda() && t.device() == like.device() &&
           t.scalar_type() == like.scalar_type() && t.dim() == 4 && t.sizes() == like.sizes() &&
           t.stride(3) == 1 && t.stride(2) == t.size(3) && t.stride(0) % 2 == 0 && t.stride(1) % 2 == 0;
}

bool table_fits(const RopeTable& table, const torch::Tensor& x, int64_t n, int64_t head_dim) {
    return table.cos.defined() && table.sin.defined() && table.cos.scalar_type() == torch::kFloat32 &&
           table.sin.scalar_type() == torch::kFloat32 && table.cos.device() == x.device() &&
           table.sin.device() == x.device() && table.cos.is_contiguous() && table.sin.is_contiguous() &&
           table.cos.dim() == 2 && table.cos.size(0) == n && table.cos.size(1) == head_dim / 2 &&
           table.sin.sizes() == table.cos.sizes();
}
}  // namespace
#endif

torch::Tensor fused_rope(const torch::Tensor& x, const RopeTable& table) {
#ifdef LIPAR_HAVE_CUDA_KERNELS
    if (!g_fused.load() || !x.defined() || !x.is_cuda() || !float_type(x.scalar_type()) ||
        x.dim() != 4 || x.size(3) % 2 != 0 || !heads_fit(x, x) || !table_fits(table, x, x.size(1), x.size(3)))
        return {};
    c10::cuda::CUDAGuard guard(x.device());
    auto out = torch::empty(x.sizes(), x.options());
    kernels::rope(element_type(x.scalar_type()), x.data_ptr(), x.stride(0), x.stride(1), out.data_ptr(),
                  out.stride(0), out.stride(1), table.cos.data_ptr<float>(), table.sin.data_ptr<float>(),
                  x.size(0), x.size(1), x.size(2), x.size(3),
                  c10::cuda::getCurrentCUDAStream(x.device().index()).stream());
    return out;
#else
    (void)x;
    (void)table;
    return {};
#endif
}

AttentionInputs fused_qk_norm_rope(const torch::Tensor& qkv, int64_t batch, int64_t heads,
                                   const torch::Tensor& q_weight, const torch::Tensor& k_weight,
                                   double eps, const RopeTable& table, const torch::Tensor& k_dest,
                                   const torch::Tensor& v_dest) {
#ifdef LIPAR_HAVE_CUDA_KERNELS
    if (!g_fused.load() || !qkv.defined() || !qkv.is_cuda() || qkv.dim() != 2 || !qkv.is_contiguous() ||
        !float_type(qkv.scalar_type()) || batch <= 0 || heads <= 0 || qkv.size(0) % batch != 0 ||
        qkv.size(1) % 3 != 0)
        return {};
    const int64_t dim = qkv.size(1) / 3, n = qkv.size(0) / batch;
    if (dim % heads != 0 || dim > 12288) return {};
    const int64_t d = dim / heads;
    if (d % 2 != 0 || !table_fits(table, qkv, n, d)) return {};
    for (const auto* w : {&q_weight, &k_weight}) {
        if (!w->defined() || w->scalar_type() != qkv.scalar_type() || w->device() != qkv.device() ||
            w->dim() != 1 || w->size(0) != dim || !w->is_contiguous())
            return {};
    }
    c10::cuda::CUDAGuard guard(qkv.device());
    const auto opts = qkv.options();
    AttentionInputs out;
    out.q = torch::empty({batch, n, heads, d}, opts);
    out.k_pre = torch::empty({batch, n, heads, d}, opts);
    if (k_dest.defined() && !heads_fit(k_dest, out.q)) return {};
    if (v_dest.defined() && !heads_fit(v_dest, out.q)) return {};
    out.k = k_dest.defined() ? k_dest : torch::empty({batch, n, heads, d}, opts);
    out.v = v_dest.defined() ? v_dest : torch::empty({batch, n, heads, d}, opts);
    kernels::qk_norm_rope(element_type(qkv.scalar_type()), qkv.data_ptr(), qkv.stride(0), batch, n, dim,
                          d, q_weight.data_ptr(), k_weight.data_ptr(), static_cast<float>(eps),
                          table.cos.data_ptr<float>(), table.sin.data_ptr<float>(), out.q.data_ptr(),
                          out.q.stride(0), out.q.stride(1), out.k_pre.data_ptr(), out.k_pre.stride(0),
                          out.k_pre.stride(1), out.k.data_ptr(), out.k.stride(0), out.k.stride(1),
                          out.v.data_ptr(), out.v.stride(0), out.v.stride(1),
                          c10::cuda::getCurrentCUDAStream(qkv.device().index()).stream());
    return out;
#else
    (void)qkv, (void)batch, (void)heads, (void)q_weight, (void)k_weight, (void)eps, (void)table;
    (void)k_dest, (void)v_dest;
    return {};
#endif
}

}  // namespace lipar::model
