#pragma once
// Scaled dot-product attention with one signature across LibTorch versions: LibTorch >= 2.0 uses
// at::scaled_dot_product_attention (FlashAttention / memory-efficient kernels on CUDA); 1.13 falls
// back to an explicit softmax(QK^T)V computed in float32, chunked over queries to bound memory.

#include <torch/torch.h>

namespace lipar::model {

// q [B, N, H, D], k and v [B, M, H, D] (any strides with a contiguous last dimension).
// mask: optional bool [N, M] (or broadcastable to [B, H, N, M]); true = may attend.
// Returns [B, N, H, D] in q's dtype. Scale 1/sqrt(D).
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const c10::optional<torch::Tensor>& mask = c10::nullopt);

// True when the fused LibTorch kernel is used (LibTorch >= 2.0).
bool attention_uses_fused_kernel();

// While one lives, attention() on CUDA tensors of a wider type casts q, k and v to `dtype`, runs
// the kernel there and casts the result back (autograd goes through the casts). Training keeps
// float32 modules and runs their attention in bfloat16 this way, so that tensor-core kernels serve
// it; inference never sets it. Per thread; scopes nest.
class AttentionPrecisionScope {
public:
    explicit AttentionPrecisionScope(torch::Dtype dtype);
    ~AttentionPrecisionScope();
    AttentionPrecisionScope(const AttentionPrecisionScope&) = delete;
    AttentionPrecisionScope& operator=(const AttentionPrecisionScope&) = delete;

private:
    c10::optional<torch::Dtype> m_previous;
};

}  // namespace lipar::model
