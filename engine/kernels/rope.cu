// RoPE in one pass: each thread rotates one (even, odd) pair of a head, reading the element type
// and writing it, with the float32 arithmetic of the LibTorch path (cast, complex product, cast).
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

template <typename T>
struct Pair;
template <>
struct Pair<float> {
    using V = float2;
    static __device__ float2 to_float(float2 v) { return v; }
    static __device__ float2 from_float(float2 v) { return v; }
};
template <>
struct Pair<__nv_bfloat16> {
    using V = __nv_bfloat162;
    static __device__ float2 to_float(__nv_bfloat162 v) { return __bfloat1622float2(v); }
    static __device__ __nv_bfloat162 from_float(float2 v) { return __float22bfloat162_rn(v); }
};
template <>
struct Pair<__half> {
    using V = __half2;
    static __device__ float2 to_float(__half2 v) { return __half22float2(v); }
    static __device__ __half2 from_float(float2 v) { return __float22half2_rn(v); }
};

template <typename T>
__global__ void rope_kernel(const typename Pair<T>::V* __restrict__ x, int64_t xsb, int64_t xsn,
                            typename Pair<T>::V* out, int64_t osb, int64_t osn,
                            const float* __restrict__ cos, const float* __restrict__ sin, int64_t n,
                            int64_t h, int64_t half, int64_t total) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t p = i % half;            // pair within the head
        const int64_t hh = (i / half) % h;     // head
        const int64_t row = (i / (half * h)) % n;
        const int64_t bb = i / (half * h * n);
        // strides are in elements of T; a pair is two of them
        const float2 v = Pair<T>::to_float(x[(bb * xsb + row * xsn) / 2 + hh * half + p]);
        const float c = cos[row * half + p], s = sin[row * half + p];
        float2 r;
        r.x = __fsub_rn(__fmul_rn(v.x, c), __fmul_rn(v.y, s));
        r.y = __fadd_rn(__fmul_rn(v.x, s), __fmul_rn(v.y, c));
        out[(bb * osb + row * osn) / 2 + hh * half + p] = Pair<T>::from_float(r);
    }
}

template <typename T>
void launch(const void* x, int64_t xsb, int64_t xsn, void* out, int64_t osb, int64_t osn,
            const float* cos, const float* sin, int64_t b, int64_t n, int64_t h, int64_t d,
            cudaStream_t stream) {
    using V = typename Pair<T>::V;
    const int64_t half = d / 2, total = b * n * h * half;
    if (total == 0) return;
    const int threads = 256;
    const int64_t blocks = std::min<int64_t>((total + threads - 1) / threads, 65535LL * 16);
    rope_kernel<T><<<static_cast<unsigned>(blocks), threads, 0, stream>>>(
        static_cast<const V*>(x), xsb, xsn, static_cast<V*>(out), osb, osn, cos, sin, n, h, half,
        total);
    detail::check_launch("rope kernel");
}

}  // namespace

void rope(ElementType type, const void* x, int64_t xsb, int64_t xsn, void* out, int64_t osb,
          int64_t osn, const float* cos, const float* sin, int64_t b, int64_t n, int64_t h,
          int64_t d, void* stream) {
    auto s = static_cast<cudaStream_t>(stream);
    switch (type) {
        case ElementType::Float32: launch<float>(x, xsb, xsn, out, osb, osn, cos, sin, b, n, h, d, s); break;
        case ElementType::BFloat16: launch<__nv_bfloat16>(x, xsb, xsn, out, osb, osn, cos, sin, b, n, h, d, s); break;
        case ElementType::Float16: launch<__half>(x, xsb, xsn, out, osb, osn, cos, sin, b, n, h, d, s); break;
    }
}

}  // namespace lipar::kernels
