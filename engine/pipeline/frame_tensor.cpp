#include "pipeline/frame_tensor.h"

#include <cstring>

namespace lipar::pipeline {

torch::Tensor frame_to_tensor(const Frame& frame, const torch::Device& device) {
    auto cpu = torch::from_blob(const_cast<uint8_t*>(frame.rgb.data()),
                                {frame.height, frame.width, 3}, torch::kUInt8);
    return cpu.to(device).permute({2, 0, 1}).to(torch::kFloat32).div_(255.0);
}

Frame tensor_to_frame(const torch::Tensor& rgb) {
    auto u8 = rgb.to(torch::kFloat32)
                  .clamp(0.0, 1.0)
                  .mul(255.0)
                  .round()
                  .to(torch::kUInt8)
                  .permute({1, 2, 0})
                  .contiguous()
                  .to(torch::kCPU);
    Frame f;
    f.resize(static_cast<int>(u8.size(1)), static_cast<int>(u8.size(0)));
    std::memcpy(f.rgb.data(), u8.data_ptr<uint8_t>(), f.byte_size());
    return f;
}

}  // namespace lipar::pipeline
