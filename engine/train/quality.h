#pragma once
// Quality measures of an edit against its style operator: PSNR, SSIM and temporal flicker, on
// float RGB frames [T, 3, H, W] in [0, 1] (any device).

#include <torch/torch.h>

#include <vector>

#include "lipar/frame.h"

namespace lipar::train {

double psnr_db(const torch::Tensor& a, const torch::Tensor& b);
// Mean SSIM over frames and channels (Gaussian window 11, sigma 1.5; C1 = 0.01^2, C2 = 0.03^2).
double ssim(const torch::Tensor& a, const torch::Tensor& b);
// Mean absolute change between consecutive frames (0 for fewer than two frames).
double temporal_change(const torch::Tensor& frames);

// uint8 frames -> float [T, 3, H, W] in [0, 1].
torch::Tensor frames_to_tensor(const std::vector<Frame>& frames);
Frame tensor_to_frame(const torch::Tensor& chw);

}  // namespace lipar::train
