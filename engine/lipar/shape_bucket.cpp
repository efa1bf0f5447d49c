#include "lipar/shape_bucket.h"

#include <limits>

#include "core/error.h"

namespace lipar::accel {

torch::Tensor keep_score(const DetectionResult& d, double tau1, double tau2) {
    LIPAR_CHECK(d.keep.defined(), StatusCode::InvalidArgument, "keep_score needs a detection result");
    torch::Tensor score = torch::zeros(d.keep.sizes(), d.keep.options().dtype(torch::kFloat32));
    if (d.distance.defined() && tau1 > 0) score = torch::maximum(score, d.distance.to(torch::kFloat32) / tau1);
    if (d.distance_long.defined() && tau2 > 0)
        score = torch::maximum(score, d.distance_long.to(torch::kFloat32) / tau2);
    return score;
}

int64_t bucketed_count(int64_t kept, int64_t total, int64_t bucket) {
    if (bucket <= 1) return kept;
    return std::min(total, (kept + bucket - 1) / bucket * bucket);
}

torch::Tensor round_kept_to_bucket(const torch::Tensor& keep, const torch::Tensor& score, int64_t bucket) {
    if (bucket <= 1) return keep;
    LIPAR_CHECK(score.sizes() == keep.sizes(), StatusCode::ShapeMismatch,
                "keep score and keep mask differ in shape");
    const auto flat_keep = keep.to(torch::kBool).flatten();
    const int64_t total = flat_keep.numel();
    const int64_t kept = flat_keep.sum().item<int64_t>();  // the plan copies the mask to the host anyway
    const int64_t target = bucketed_count(kept, total, bucket);
    if (target == kept) return keep;
    auto s = score.to(flat_keep.device(), torch::kFloat32).flatten().clone();
    s.masked_fill_(flat_keep, -std::numeric_limits<float>::infinity());
    // Stable descending order: equal scores go to the lower index, on every device.
    const auto order = std::get<1>(s.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
    auto out = flat_keep.clone();
    out.index_fill_(0, order.narrow(0, 0, target - kept), true);
    return out.view(keep.sizes());
}

int64_t default_kept_bucket(const torch::Device& device) { return device.is_cuda() ? 128 : 0; }

}  // namespace lipar::accel
