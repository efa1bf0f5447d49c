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

}  // namespace lipar::model
