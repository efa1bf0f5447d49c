// The DiT layer's bandwidth-bound steps in one pass each (see fused_kernels.h): the modulated
// layer norm that feeds a projection, and the gated residual update. Per-frame modulation rows
// are read through the token's frame index, so the per-token copy of the rows is never made.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/device_common.cuh"
#include "kernels/fused_kernels.h"

namespace lipar::kernels {

namespace {

using detail::block_sum;
using detail::check_launch;
using detail::load;
using detail::store;

// One block per row: the row is staged in shared memory as float32, mean and variance in two
// passes over it (as exact as LibTorch's Welford), then one write in the output type.
template <typename In, typename Out>
__global__ void layer_norm_modulate_kernel(const In* __restrict__ x, Out* __restrict__ y,
                                           int64_t n, int64_t dim, float eps,
                                           const float* __restrict__ w, const float* __restrict__ bias,
                                           const float* __restrict__ scale, const float* __restrict__ shift,
                                           int64_t msb, int64_t msf,
                                           const int64_t* __restrict__ frame_of_token) {
    extern __shared__ float row[];
    __shared__ float scratch[32];
    const int64_t r = blockIdx.x;
    const In* xr = x + r * dim;
    float s = 0.f;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        const float v = load(xr, c);
        row[c] = v;
        s += v;
    }
    const float mean = block_sum(s, scratch) / static_cast<float>(dim);
    float q = 0.f;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        const float d = row[c] - mean;
        q += d * d;
    }
    const float rstd = rsqrtf(block_sum(q, scratch) / static_cast<float>(dim) + eps);
    const int64_t bb = r / n, tok = r % n;
    const int64_t f = frame_of_token ? frame_of_token[tok] : 0;
    const int64_t m = bb * msb + f * msf;
    Out* yr = y + r * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        float v = (row[c] - mean) * rstd;
        if (w) v = v * w[c] + bias[c];
        if (scale) v = v * scale[m + c] + shift[m + c];
        store(yr, c, v);
    }
}

// One block per row: the row's gate is found once (no per-element index arithmetic).
template <typename X, typename Y>
__global__ void gated_residual_kernel(const X* __restrict__ x, const Y* __restrict__ y, X* __restrict__ out,
                                      int64_t n, int64_t dim, const float* __restrict__ gate,
                                      int64_t gsb, int64_t gsf, const int64_t* __restrict__ frame_of_token) {
    const int64_t r = blockIdx.x;
    const int64_t f = frame_of_token ? frame_of_token[r % n] : 0;
    const float* g = gate + (r / n) * gsb + f * gsf;
    const int64_t base = r * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x)
        store(out, base + c, fmaf(load(y, base + c), g[c], load(x, base + c)));
}

template <typename In, typename Out>
void launch_norm(const void* x, void* y, int64_t b, int64_t n, int64_t dim, float eps, const float* w,
                 const float* bias, const float* scale, const float* shift, int64_t msb, int64_t msf,
                 const int64_t* fot, cudaStream_t stream) {
    const int64_t rows = b * n;
    if (rows == 0) return;
    const int threads = dim >= 1024 ? 256 : 128;
    const size_t smem = static_cast<size_t>(dim) * sizeof(float);
    if (smem > 48 * 1024) throw std::runtime_error("layer_norm_modulate: rows over 12288 elements");
    layer_norm_modulate_kernel<In, Out><<<static_cast<unsigned>(rows), threads, smem, stream>>>(
        static_cast<const In*>(x), static_cast<Out*>(y), n, dim, eps, w, bias, scale, shift, msb, msf, fot);
    check_launch("layer_norm_modulate kernel");
}

template <typename In>
void dispatch_norm_out(ElementType out, const void* x, void* y, int64_t b, int64_t n, int64_t dim,
                       float eps, const float* w, const float* bias, const float* scale,
                       const float* shift, int64_t msb, int64_t msf, const int64_t* fot, cudaStream_t s) {
    switch (out) {
        case ElementType::Float32: launch_norm<In, float>(x, y, b, n, dim, eps, w, bias, scale, shift, msb, msf, fot, s); break;
        case ElementType::BFloat16: launch_norm<In, __nv_bfloat16>(x, y, b, n, dim, eps, w, bias, scale, shift, msb, msf, fot, s); break;
        case ElementType::Float16: launch_norm<In, __half>(x, y, b, n, dim, eps, w, bias, scale, shift, msb, msf, fot, s); break;
    }
}

template <typename X, typename Y>
void launch_residual(const void* x, const void* y, void* out, int64_t b, int64_t n, int64_t dim,
                     const float* gate, int64_t gsb, int64_t gsf, const int64_t* fot, cudaStream_t stream) {
    const int64_t rows = b * n;
    if (rows == 0 || dim == 0) return;
    const int threads = dim >= 1024 ? 256 : 128;
    gated_residual_kernel<X, Y><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
        static_cast<const X*>(x), static_cast<const Y*>(y), static_cast<X*>(out), n, dim, gate, gsb,
        gsf, fot);
    check_launch("gated_residual kernel");
}

template <typename X>
void dispatch_residual_y(ElementType yt, const void* x, const void* y, void* out, int64_t b, int64_t n,
                         int64_t dim, const float* gate, int64_t gsb, int64_t gsf, const int64_t* fot,
                         cudaStream_t s) {
    switch (yt) {
        case ElementType::Float32: launch_residual<X, float>(x, y, out, b, n, dim, gate, gsb, gsf, fot, s); break;
        case ElementType::BFloat16: launch_residual<X, __nv_bfloat16>(x, y, out, b, n, dim, gate, gsb, gsf, fot, s); break;
        case ElementType::Float16: launch_residual<X, __half>(x, y, out, b, n, dim, gate, gsb, gsf, fot, s); break;
    }
}

}  // namespace

void layer_norm_modulate(ElementType in_type, const void* x, ElementType out_type, void* y, int64_t b,
                         int64_t n, int64_t dim, float eps, const float* weight, const float* bias,
                         const float* scale, const float* shift, int64_t mod_stride_b,
                         int64_t mod_stride_f, const int64_t* frame_of_token, void* stream) {
    auto s = static_cast<cudaStream_t>(stream);
    switch (in_type) {
        case ElementType::Float32: dispatch_norm_out<float>(out_type, x, y, b, n, dim, eps, weight, bias, scale, shift, mod_stride_b, mod_stride_f, frame_of_token, s); break;
        case ElementType::BFloat16: dispatch_norm_out<__nv_bfloat16>(out_type, x, y, b, n, dim, eps, weight, bias, scale, shift, mod_stride_b, mod_stride_f, frame_of_token, s); break;
        case ElementType::Float16: dispatch_norm_out<__half>(out_type, x, y, b, n, dim, eps, weight, bias, scale, shift, mod_stride_b, mod_stride_f, frame_of_token, s); break;
    }
}

void gated_residual(ElementType x_type, const void* x, ElementType y_type, const void* y, void* out,
                    int64_t b, int64_t n, int64_t dim, const float* gate, int64_t gate_stride_b,
                    int64_t gate_stride_f, const int64_t* frame_of_token, void* stream) {
    auto s = static_cast<cudaStream_t>(stream);
    switch (x_type) {
        case ElementType::Float32: dispatch_residual_y<float>(y_type, x, y, out, b, n, dim, gate, gate_stride_b, gate_stride_f, frame_of_token, s); break;
        case ElementType::BFloat16: dispatch_residual_y<__nv_bfloat16>(y_type, x, y, out, b, n, dim, gate, gate_stride_b, gate_stride_f, frame_of_token, s); break;
        case ElementType::Float16: dispatch_residual_y<__half>(y_type, x, y, out, b, n, dim, gate, gate_stride_b, gate_stride_f, frame_of_token, s); break;
    }
}

}  // namespace lipar::kernels
