#pragma once
// Custom CUDA kernels for work that eager LibTorch spreads over several bandwidth-bound passes.
// Built only when LibTorch has CUDA and a CUDA compiler is found (LIPAR_HAVE_CUDA_KERNELS); every
// caller keeps its LibTorch path, which the CPU build uses and the GPU tests compare against.
//
// The .cu files see no LibTorch headers: these launchers take raw pointers, element strides and
// the stream, and the callers (model/common/rope.cpp, ...) check shapes, dtypes and devices.

#include <cstdint>

namespace lipar::kernels {

enum class ElementType { Float32 = 0, BFloat16, Float16 };

// RoPE on x [B, N, H, D] (pairs (2i, 2i+1) as complex numbers, times cos + i sin of row n):
// out = ((a cos - b sin), (a sin + b cos)) in float32, rounded once to the element type.
// x and out: element strides stride_b, stride_n for the first two dims; [H, D] contiguous.
// cos, sin: float32 [N, D/2] contiguous. out may be x (in place) or any other tensor of the same
// shape (e.g. a slot of a KV cache). stream: a cudaStream_t.
void rope(ElementType type, const void* x, int64_t x_stride_b, int64_t x_stride_n, void* out,
          int64_t out_stride_b, int64_t out_stride_n, const float* cos, const float* sin, int64_t b,
          int64_t n, int64_t h, int64_t d, void* stream);

// Layer norm of each row of x [B, N, dim] (contiguous; mean and variance in float32), then the
// optional affine (weight, bias: float32 [dim]) and the optional modulation (scale, shift: float32
// rows of dim contiguous elements at b * mod_stride_b + frame * mod_stride_f, frame =
// frame_of_token[n] or 0 when null; scale already holds 1 + scale), rounded once into y [B, N, dim]
// of out_type. Wan's modulated norm feeding a projection, one read and one write of the stream.
void layer_norm_modulate(ElementType in_type, const void* x, ElementType out_type, void* y, int64_t b,
                         int64_t n, int64_t dim, float eps, const float* weight, const float* bias,
                         const float* scale, const float* shift, int64_t mod_stride_b,
                         int64_t mod_stride_f, const int64_t* frame_of_token, void* stream);

// out = x + y * gate, gate a float32 row per (batch, frame) like the modulation above; x, out
// [B, N, dim] contiguous of x_type (the residual stream), y of y_type (a branch's output).
void gated_residual(ElementType x_type, const void* x, ElementType y_type, const void* y, void* out,
                    int64_t b, int64_t n, int64_t dim, const float* gate, int64_t gate_stride_b,
                    int64_t gate_stride_f, const int64_t* frame_of_token, void* stream);

// Self-attention's inputs from one fused projection: qkv rows [B * N, ld] hold q, k, v at columns
// 0, dim, 2 * dim (ld >= 3 * dim). q and k: RMSNorm over dim (float32 statistics, the learned
// weight of the element type applied before rounding), rounded, then RoPE with cos, sin float32
// [N, head_dim / 2] (as rope() above); k_pre (optional, may be null) gets k before RoPE. v: copied.
// Each destination is [B, N, dim / head_dim, head_dim] with element strides (sb, sn) for batch
// and token, heads and head_dim contiguous (e.g. a slot of a KV cache).
void qk_norm_rope(ElementType type, const void* qkv, int64_t ld, int64_t b, int64_t n, int64_t dim,
                  int64_t head_dim, const void* q_weight, const void* k_weight, float eps,
                  const float* cos, const float* sin, void* q, int64_t q_sb, int64_t q_sn, void* k_pre,
                  int64_t kp_sb, int64_t kp_sn, void* k, int64_t k_sb, int64_t k_sn, void* v,
                  int64_t v_sb, int64_t v_sn, void* stream);

}  // namespace lipar::kernels
