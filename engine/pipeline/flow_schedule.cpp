#include "pipeline/flow_schedule.h"

#include <cmath>

#include "core/error.h"

namespace lipar::pipeline {

FlowSchedule::FlowSchedule(double shift, int64_t train_steps)
    : m_shift(shift), m_train_steps(train_steps) {
    LIPAR_CHECK(shift > 0 && train_steps > 1, StatusCode::InvalidArgument,
                "flow schedule needs shift > 0 and train_steps > 1");
    m_timesteps.reserve(static_cast<size_t>(train_steps));
    for (int64_t i = 0; i < train_steps; ++i) {
        const double sigma = 1.0 - static_cast<double>(i) / static_cast<double>(train_steps);
        const double shifted = shift * sigma / (1.0 + (shift - 1.0) * sigma);
        m_timesteps.push_back(shifted * static_cast<double>(train_steps));
    }
}

double FlowSchedule::warp(double step) const {
    const double idx_f = static_cast<double>(m_train_steps) - step;
    const auto idx = static_cast<int64_t>(std::llround(idx_f));
    LIPAR_CHECK(idx >= 0 && idx < m_train_steps && std::abs(idx_f - double(idx)) < 1e-9,
                StatusCode::InvalidArgument, "denoising step ", step,
                " must be an integer in 1..", m_train_steps);
    return m_timesteps[static_cast<size_t>(idx)];
}

std::vector<double> FlowSchedule::warp(const std::vector<double>& steps) const {
    std::vector<double> out;
    for (double s : steps) out.push_back(warp(s));
    return out;
}

torch::Tensor FlowSchedule::x0_from_flow(const torch::Tensor& x_t, const torch::Tensor& flow,
                                         double sigma_t) {
    return x_t.to(torch::kFloat32) - sigma_t * flow.to(torch::kFloat32);
}

torch::Tensor FlowSchedule::add_noise(const torch::Tensor& x0, const torch::Tensor& noise,
                                      double sigma) {
    return (1.0 - sigma) * x0.to(torch::kFloat32) + sigma * noise.to(torch::kFloat32);
}

}  // namespace lipar::pipeline
