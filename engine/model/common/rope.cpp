#include "model/common/rope.h"

#include "core/error.h"
#include "model/common/fused_ops.h"

namespace lipar::model {

namespace {
// Inverse frequencies of one axis group: theta^(-2i/d), i = 0..d/2-1 (float64).
torch::Tensor inv_freq(int64_t d, double theta, const torch::Device& device) {
    auto i = torch::arange(0, d, 2, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    return torch::pow(theta, -i / static_cast<double>(d));
}
}  // namespace

RopeTable make_rope_table(const torch::Tensor& positions, int64_t head_dim, double theta) {
    LIPAR_CHECK(head_dim % 2 == 0 && head_dim >= 12, StatusCode::InvalidArgument,
                "RoPE needs an even head_dim >= 12, got ", head_dim);
    LIPAR_CHECK(positions.dim() == 2 && positions.size(1) == 3, StatusCode::InvalidArgument,
                "RoPE positions must be [N, 3]");
    const int64_t sixth = head_dim / 6;
    const int64_t d_frame = head_dim - 4 * sixth;
    const int64_t d_hw = 2 * sixth;
    const auto dev = positions.device();
    auto pos = positions.to(torch::kFloat64);
    auto a_f = pos.select(1, 0).unsqueeze(1) * inv_freq(d_frame, theta, dev).unsqueeze(0);
    auto a_h = pos.select(1, 1).unsqueeze(1) * inv_freq(d_hw, theta, dev).unsqueeze(0);
    auto a_w = pos.select(1, 2).unsqueeze(1) * inv_freq(d_hw, theta, dev).unsqueeze(0);
    auto angles = torch::cat({a_f, a_h, a_w}, 1);  // [N, D/2]
    RopeTable t;
    t.cos = torch::cos(angles).to(torch::kFloat32);
    t.sin = torch::sin(angles).to(torch::kFloat32);
    t.rotation = torch::complex(t.cos, t.sin);
    return t;
}

torch::Tensor grid_positions(const std::vector<int64_t>& frame_positions, int64_t height,
                             int64_t width, const torch::Device& device) {
    auto opts = torch::TensorOptions().dtype(torch::kInt64);
    auto f = torch::tensor(frame_positions, opts);
    const int64_t frames = f.size(0);
    auto h = torch::arange(height, opts);
    auto w = torch::arange(width, opts);
    auto ff = f.view({frames, 1, 1}).expand({frames, height, width});
    auto hh = h.view({1, height, 1}).expand({frames, height, width});
    auto ww = w.view({1, 1, width}).expand({frames, height, width});
    return torch::stack({ff.reshape(-1), hh.reshape(-1), ww.reshape(-1)}, 1).to(device);
}

torch::Tensor grid_positions(int64_t frames, int64_t height, int64_t width, int64_t frame_offset,
                             const torch::Device& device) {
    std::vector<int64_t> fp(static_cast<size_t>(frames));
    for (int64_t i = 0; i < frames; ++i) fp[static_cast<size_t>(i)] = frame_offset + i;
    return grid_positions(fp, height, width, device);
}

torch::Tensor apply_rope(const torch::Tensor& x, const RopeTable& table) {
    if (x.is_cuda()) {
        auto fused = fused_rope(x, table);
        if (fused.defined()) return fused;
    }
    // (a, b) -> (a cos - b sin, a sin + b cos) on float32 pairs: (a + ib)(cos + i sin), one
    // complex product (a cast in, the product, a cast out).
    const auto sizes = x.sizes();
    const int64_t n = sizes[1], half = sizes[3] / 2;
    auto xc = torch::view_as_complex(x.to(torch::kFloat32).contiguous().view({sizes[0], n, sizes[2], half, 2}));
    auto out = torch::view_as_real(xc * table.rotation.view({1, n, 1, half}));
    return out.view(sizes).to(x.scalar_type());
}

}  // namespace lipar::model
