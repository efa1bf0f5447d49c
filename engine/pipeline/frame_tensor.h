#pragma once
// RGB frames <-> the editor's image tensors ([3, H, W] float32 in 0..1).

#include <torch/torch.h>

#include "lipar/frame.h"

namespace lipar::pipeline {

// frame (8-bit RGB) -> [3, H, W] float32 in 0..1 on `device`.
torch::Tensor frame_to_tensor(const Frame& frame, const torch::Device& device);
// [3, H, W] (any dtype and device) -> 8-bit RGB, clamped and rounded.
Frame tensor_to_frame(const torch::Tensor& rgb);

}  // namespace lipar::pipeline
