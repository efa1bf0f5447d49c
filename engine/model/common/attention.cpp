#include "model/common/attention.h"

#include <torch/version.h>

#include <cmath>

namespace lipar::model {

bool attention_uses_fused_kernel() { return TORCH_VERSION_MAJOR >= 2; }

namespace {
thread_local c10::optional<torch::Dtype> t_attention_dtype;
}  // namespace

AttentionPrecisionScope::AttentionPrecisionScope(torch::Dtype dtype) : m_previous(t_attention_dtype) {
    t_attention_dtype = dtype;
}
AttentionPrecisionScope::~AttentionPrecisionScope() { t_attention_dtype = m_previous; }

namespace {
torch::Tensor attention_reference(const torch::Tensor& q, const torch::Tensor& k,
                                  const torch::Tensor& v, const c10::optional<torch::Tensor>& mask) {
    // [B, H, N, D] in float32 for the softmax; queries chunked so that scores stay < ~256 MB.
    const auto out_dtype = q.scalar_type();
    auto qh = q.transpose(1, 2).to(torch::kFloat32);
    auto kh = k.transpose(1, 2).to(torch::kFloat32);
    auto vh = v.transpose(1, 2).to(torch::kFloat32);
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
    const int64_t n = qh.size(2), m = kh.size(2);
    const int64_t per_row = std::max<int64_t>(1, qh.size(0) * qh.size(1) * m);
    const int64_t chunk = std::max<int64_t>(1, (64LL << 20) / per_row);
    auto kt = kh.transpose(-1, -2);
    std::vector<torch::Tensor> outs;
    for (int64_t s = 0; s < n; s += chunk) {
        const int64_t len = std::min(chunk, n - s);
        auto scores = torch::matmul(qh.narrow(2, s, len), kt).mul_(scale);
        if (mask) {
            auto mk = *mask;
            if (mk.dim() >= 2) mk = mk.narrow(mk.dim() - 2, s, len);
            scores.masked_fill_(mk.logical_not(), -std::numeric_limits<float>::infinity());
        }
        outs.push_back(torch::matmul(torch::softmax(scores, -1), vh));
    }
    auto out = outs.size() == 1 ? outs[0] : torch::cat(outs, 2);
    return out.transpose(1, 2).to(out_dtype);
}

torch::Tensor attention_kernel(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const c10::optional<torch::Tensor>& mask) {
#if TORCH_VERSION_MAJOR >= 2
    if (q.is_cuda() || q.scalar_type() == torch::kFloat32) {
        auto out = at::scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                                    v.transpose(1, 2), mask);
        return out.transpose(1, 2);
    }
#endif
    return attention_reference(q, k, v, mask);
}
}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const c10::optional<torch::Tensor>& mask) {
    TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention expects [B, N, H, D]");
    if (t_attention_dtype && q.is_cuda() &&
        q.element_size() > static_cast<int64_t>(c10::elementSize(*t_attention_dtype))) {
        const auto dtype = *t_attention_dtype;
        return attention_kernel(q.to(dtype), k.to(dtype), v.to(dtype), mask).to(q.scalar_type());
    }
    return attention_kernel(q, k, v, mask);
}

}  // namespace lipar::model
