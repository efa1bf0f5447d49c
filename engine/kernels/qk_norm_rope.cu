// Self-attention's inputs from the fused QKV projection in one pass (see fused_kernels.h): each
// block takes one token's q, k or v row of the projection output. q and k: RMSNorm (statistics in
// float32, the learned scale applied before the rounding), then RoPE on the rounded values, as
// the LibTorch path does (at::rms_norm, then model::apply_rope); k also keeps its normalised,
// un-rotated row (LIPAR's clean keys). v: copied to its destination (e.g. the KV cache's slot).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

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

// The value as the element type would hold it (the rounding between the norm and RoPE).
__device__ inline float round_to(float, float v) { return v; }
__device__ inline float round_to(__nv_bfloat16, float v) { return __bfloat162float(__float2bfloat16_rn(v)); }
__device__ inline float round_to(__half, float v) { return __half2float(__float2half_rn(v)); }

struct Dest {
    void* ptr;
    int64_t sb, sn;  // element strides of batch and token; [H, D] contiguous
};

// grid (B * N, 3): blockIdx.y 0 = q, 1 = k, 2 = v.
template <typename T>
__global__ void qk_norm_rope_kernel(const T* __restrict__ qkv, int64_t ld, int64_t n, int64_t dim,
                                    int64_t head_dim, const T* __restrict__ wq, const T* __restrict__ wk,
                                    float eps, const float* __restrict__ cos, const float* __restrict__ sin,
                                    Dest q, Dest k_pre, Dest k, Dest v) {
    extern __shared__ float row[];
    __shared__ float scratch[32];
    const int64_t r = blockIdx.x, bb = r / n, tok = r % n;
    const int part = blockIdx.y;
    const T* src = qkv + r * ld + part * dim;
    if (part == 2) {  // the whole block returns here: no barrier is skipped by some threads only
        T* dst = static_cast<T*>(v.ptr) + bb * v.sb + tok * v.sn;
        for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) dst[c] = src[c];
        return;
    }
    float s = 0.f;
    for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) {
        const float x = load(src, c);
        row[c] = x;
        s += x * x;
    }
    const float rstd = rsqrtf(block_sum(s, scratch) / static_cast<float>(dim) + eps);
    const T* w = part == 0 ? wq : wk;
    const Dest out = part == 0 ? q : k;
    T* o = static_cast<T*>(out.ptr) + bb * out.sb + tok * out.sn;
    T* pre = part == 1 && k_pre.ptr ? static_cast<T*>(k_pre.ptr) + bb * k_pre.sb + tok * k_pre.sn : nullptr;
    const int64_t half = head_dim / 2;
    for (int64_t p = threadIdx.x; p < dim / 2; p += blockDim.x) {
        const int64_t c = 2 * p, i = p % half;
        const float a = round_to(T{}, __fmul_rn(__fmul_rn(row[c], rstd), load(w, c)));
        const float b = round_to(T{}, __fmul_rn(__fmul_rn(row[c + 1], rstd), load(w, c + 1)));
        if (pre) {
            store(pre, c, a);
            store(pre, c + 1, b);
        }
        const float cs = cos[tok * half + i], sn = sin[tok * half + i];
        store(o, c, __fsub_rn(__fmul_rn(a, cs), __fmul_rn(b, sn)));
        store(o, c + 1, __fadd_rn(__fmul_rn(a, sn), __fmul_rn(b, cs)));
    }
}

template <typename T>
void launch(const void* qkv, int64_t ld, int64_t b, int64_t n, int64_t dim, int64_t head_dim,
            const void* wq, const void* wk, float eps, const float* cos, const float* sin, Dest q,
            Dest k_pre, Dest k, Dest v, cudaStream_t stream) {
    const int64_t rows = b * n;
    if (rows == 0) return;
    const int threads = dim >= 1024 ? 256 : 128;
    const size_t smem = static_cast<size_t>(dim) * sizeof(float);
    if (smem > 48 * 1024) throw std::runtime_error("qk_norm_rope: rows over 12288 elements");
    const dim3 grid(static_cast<unsigned>(rows), 3);
    qk_norm_rope_kernel<T><<<grid, threads, smem, stream>>>(
        static_cast<const T*>(qkv), ld, n, dim, head_dim, static_cast<const T*>(wq),
        static_cast<const T*>(wk), eps, cos, sin, q, k_pre, k, v);
    check_launch("qk_norm_rope kernel");
}

}  // namespace

void qk_norm_rope(ElementType type, const void* qkv, int64_t ld, int64_t b, int64_t n, int64_t dim,
                  int64_t head_dim, const void* q_weight, const void* k_weight, float eps,
                  const float* cos, const float* sin, void* q, int64_t q_sb, int64_t q_sn, void* k_pre,
                  int64_t kp_sb, int64_t kp_sn, void* k, int64_t k_sb, int64_t k_sn, void* v,
                  int64_t v_sb, int64_t v_sn, void* stream) {
    auto s = static_cast<cudaStream_t>(stream);
    const Dest dq{q, q_sb, q_sn}, dkp{k_pre, kp_sb, kp_sn}, dk{k, k_sb, k_sn}, dv{v, v_sb, v_sn};
    switch (type) {
        case ElementType::Float32: launch<float>(qkv, ld, b, n, dim, head_dim, q_weight, k_weight, eps, cos, sin, dq, dkp, dk, dv, s); break;
        case ElementType::BFloat16: launch<__nv_bfloat16>(qkv, ld, b, n, dim, head_dim, q_weight, k_weight, eps, cos, sin, dq, dkp, dk, dv, s); break;
        case ElementType::Float16: launch<__half>(qkv, ld, b, n, dim, head_dim, q_weight, k_weight, eps, cos, sin, dq, dkp, dk, dv, s); break;
    }
}

}  // namespace lipar::kernels
