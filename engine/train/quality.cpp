#include "train/quality.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "train/styles.h"

namespace lipar::train {

namespace F = torch::nn::functional;

double psnr_db(const torch::Tensor& a, const torch::Tensor& b) {
    LIPAR_CHECK(a.sizes() == b.sizes(), StatusCode::ShapeMismatch, "PSNR of different shapes");
    const double mse = (a.to(torch::kFloat64) - b.to(torch::kFloat64)).pow(2).mean().item<double>();
    return 10.0 * std::log10(1.0 / std::max(mse, 1e-12));
}

double ssim(const torch::Tensor& a_in, const torch::Tensor& b_in) {
    LIPAR_CHECK(a_in.sizes() == b_in.sizes() && a_in.dim() == 4, StatusCode::ShapeMismatch,
                "SSIM needs two [T, C, H, W] stacks of one shape");
    auto a = a_in.to(torch::kFloat32), b = b_in.to(torch::kFloat32);
    auto mu_a = gaussian_blur(a, 1.5), mu_b = gaussian_blur(b, 1.5);
    auto var_a = gaussian_blur(a * a, 1.5) - mu_a * mu_a;
    auto var_b = gaussian_blur(b * b, 1.5) - mu_b * mu_b;
    auto cov = gaussian_blur(a * b, 1.5) - mu_a * mu_b;
    const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
    auto map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) /
               ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2));
    return map.mean().item<double>();
}

double temporal_change(const torch::Tensor& x) {
    if (x.size(0) < 2) return 0.0;
    const int64_t t = x.size(0);
    return (x.narrow(0, 1, t - 1) - x.narrow(0, 0, t - 1)).abs().mean().item<double>();
}

torch::Tensor frames_to_tensor(const std::vector<Frame>& frames) {
    std::vector<torch::Tensor> out;
    for (const auto& f : frames) {
        out.push_back(torch::from_blob(const_cast<uint8_t*>(f.rgb.data()), {f.height, f.width, 3},
                                       torch::kUInt8)
                          .permute({2, 0, 1})
                          .to(torch::kFloat32)
                          .div(255.0));
    }
    return torch::stack(out);
}

Frame tensor_to_frame(const torch::Tensor& chw) {
    auto u8 = chw.to(torch::kCPU, torch::kFloat32)
                  .clamp(0, 1)
                  .mul(255.0)
                  .round()
                  .to(torch::kUInt8)
                  .permute({1, 2, 0})
                  .contiguous();
    Frame f;
    f.resize(static_cast<int>(u8.size(1)), static_cast<int>(u8.size(0)));
    std::memcpy(f.rgb.data(), u8.data_ptr<uint8_t>(), f.byte_size());
    return f;
}

}  // namespace lipar::train
