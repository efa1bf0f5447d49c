#pragma once
// 3D rotary position embedding of Wan2.1: head_dim D is split into complex pairs (2i, 2i+1);
// D/2 frequencies are divided into frame / height / width groups of sizes
// (D - 4*(D/6))/2, (D/6), (D/6) (22/21/21 for D = 128); angle = pos / 10000^(2i/d) with d the
// group's real dimension. Angles are computed in float64 (as the reference does), applied in float32.

#include <torch/torch.h>

namespace lipar::model {

struct RopeTable {
    torch::Tensor cos;  // [N, D/2] float32
    torch::Tensor sin;  // [N, D/2] float32
    // The same as complex numbers cos + i sin, [N, D/2] complex64: apply_rope multiplies each
    // pair (as a complex number) by it.
    torch::Tensor rotation;
    int64_t size() const { return cos.defined() ? cos.size(0) : 0; }
};

// positions: int64 [N, 3] (frame, h, w) on any device; returns tables on that device.
RopeTable make_rope_table(const torch::Tensor& positions, int64_t head_dim, double theta = 10000.0);

// Positions of a full token grid, frame-major then h then w, frames starting at frame_offset.
torch::Tensor grid_positions(int64_t frames, int64_t height, int64_t width, int64_t frame_offset,
                             const torch::Device& device);
// Same, with an explicit absolute position per frame.
torch::Tensor grid_positions(const std::vector<int64_t>& frame_positions, int64_t height,
                             int64_t width, const torch::Device& device);

// x [B, N, H, D] -> rotated, same dtype. table rows correspond to the N tokens. On CUDA, when
// the build has the custom kernels, one fused pass (kernels/rope.cu) with the same float32
// arithmetic; else cast, complex product, cast.
torch::Tensor apply_rope(const torch::Tensor& x, const RopeTable& table);
// The kernel's switch: fused_kernels_available() / set_fused_kernels() (model/common/fused_ops.h).

}  // namespace lipar::model
