#pragma once
// Helpers shared by the autoencoder tests: weight paths, frames as tensors.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "lipar/frame.h"

namespace lipar::model::test {

inline std::string taef2_path(const std::string& part, const std::string& ext = "safetensors") {
    return std::string(LIPAR_SHARED_DIR) + "/models/taef2/taef2_" + part + "." + ext;
}

// Packed RGB24 frames (all the same size) -> [T, 3, H, W] float32 in [0, 1].
inline torch::Tensor frames_to_tensor(const std::vector<Frame>& frames) {
    std::vector<torch::Tensor> planes;
    planes.reserve(frames.size());
    for (const auto& f : frames) {
        auto hwc = torch::from_blob(const_cast<uint8_t*>(f.rgb.data()), {f.height, f.width, 3},
                                    torch::kUInt8);
        planes.push_back(hwc.permute({2, 0, 1}).to(torch::kFloat32).div(255.0));
    }
    return torch::stack(planes);
}

}  // namespace lipar::model::test
