#pragma once
// Helpers shared by the streaming detector and detect_sequence (not part of the API).

#include <torch/torch.h>

#include "lipar/detector.h"

namespace lipar::accel::detail {

// Throws ShapeMismatch / Unsupported unless z is a floating [C, F, H, W] tensor with F >= 1 and
// even, non-zero H and W.
void check_latents(const torch::Tensor& z);

// Fills kept_ratio_per_frame and kept_ratio from result.keep with one small device-to-host copy.
void fill_kept_ratios(DetectionResult& result);

// Threshold test that counts a non-finite distance as changed: !(distance <= tau).
torch::Tensor exceeds(const torch::Tensor& distance, double tau);

}  // namespace lipar::accel::detail
