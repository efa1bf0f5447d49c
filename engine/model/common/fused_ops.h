#pragma once
// LibTorch-facing entry points of the custom CUDA kernels (engine/kernels) for the DiT layer's
// bandwidth-bound steps. Each returns an undefined tensor when its kernel does not apply (CPU
// tensors, a build without the kernels, the switch off, an unsupported layout): the caller then
// takes its LibTorch path, which stays the reference the GPU tests compare against.

#include <torch/torch.h>

#include "model/common/rope.h"

namespace lipar::model {

// Whether the custom kernels may run (built, and not switched off). The switch is process-wide:
// tests and benchmarks compare both paths; default on, off when the environment has
// LIPAR_FUSED_KERNELS=0. It covers every custom kernel (RoPE, norms, residuals).
bool fused_kernels_available();
void set_fused_kernels(bool on);

// Per-frame rows [B, F, dim] float32 (a select of the modulation table, any batch and frame
// strides, dim contiguous), read for each token through frame_of_token [N] (int64, on the device)
// or broadcast when F == 1 (frame_of_token may then be undefined).
struct FrameRows {
    torch::Tensor rows;
    torch::Tensor frame_of_token;
};

// y = (layer_norm(x) [* weight + bias]) [* scale + shift] in float32, rounded once to out_dtype.
// x [B, N, dim] contiguous; weight, bias float32 [dim] or undefined; scale holds 1 + scale.
torch::Tensor fused_layer_norm_modulate(const torch::Tensor& x, double eps, const torch::Tensor& weight,
                                        const torch::Tensor& bias, const FrameRows* scale,
                                        const FrameRows* shift, torch::Dtype out_dtype);

// x + y * gate in float32, rounded once to x's dtype; x [B, N, dim] contiguous (the residual
// stream), y the same shape in any float dtype.
torch::Tensor fused_gated_residual(const torch::Tensor& x, const torch::Tensor& y, const FrameRows& gate);

// RoPE of x [B, N, H, D] ([H, D] contiguous) with the table's rows (model::apply_rope's kernel).
torch::Tensor fused_rope(const torch::Tensor& x, const RopeTable& table);

// Self-attention's q, k (before and after RoPE) and v from the fused projection's output.
struct AttentionInputs {
    torch::Tensor q, k_pre, k, v;  // [B, N, H, D]
};

// qkv [B * N, 3 * dim] contiguous (q, k, v side by side, the fused projection's output); q and
// k RMS-normalised with q_weight / k_weight ([dim], qkv's dtype) and eps, then rotated with the
// table's N rows; k_pre keeps k before RoPE. k_dest / v_dest: where k and v are written ([B, N,
// H, D] views with [H, D] contiguous, e.g. a KV cache's staging slot), or undefined for new
// tensors. Returns undefined members when the kernel does not apply.
AttentionInputs fused_qk_norm_rope(const torch::Tensor& qkv, int64_t batch, int64_t heads,
                                   const torch::Tensor& q_weight, const torch::Tensor& k_weight,
                                   double eps, const RopeTable& table, const torch::Tensor& k_dest,
                                   const torch::Tensor& v_dest);

}  // namespace lipar::model
