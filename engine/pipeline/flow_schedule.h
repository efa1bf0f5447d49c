#pragma once
// Flow-matching schedule of Wan / Self-Forcing: sigma = linspace(1, 0, 1001)[:-1], shifted
// sigma' = s*sigma / (1 + (s-1)*sigma), t = 1000 * sigma'. A warped step list picks
// timesteps[1000 - step]: [1000, 750, 500, 250] with shift 5 -> [1000, 937.5, 833.3, 625].
// The model predicts flow v = noise - x0, so x0 = x_t - sigma_t * v; between steps the estimate is
// re-noised: x = (1 - sigma_next) * x0 + sigma_next * noise.

#include <torch/torch.h>

#include <vector>

namespace lipar::pipeline {

class FlowSchedule {
public:
    explicit FlowSchedule(double shift = 5.0, int64_t train_steps = 1000);

    double shift() const { return m_shift; }
    // Shifted timestep for a warped step value in (0, train_steps]: timesteps[train_steps - step].
    double warp(double step) const;
    std::vector<double> warp(const std::vector<double>& steps) const;
    // sigma of a timestep (t / train_steps).
    double sigma(double t) const { return t / static_cast<double>(m_train_steps); }
    const std::vector<double>& timesteps() const { return m_timesteps; }

    // x0 = x_t - sigma_t * flow (computed in float32)
    static torch::Tensor x0_from_flow(const torch::Tensor& x_t, const torch::Tensor& flow,
                                      double sigma_t);
    // (1 - sigma) * x0 + sigma * noise
    static torch::Tensor add_noise(const torch::Tensor& x0, const torch::Tensor& noise,
                                   double sigma);

private:
    double m_shift;
    int64_t m_train_steps;
    std::vector<double> m_timesteps;  // train_steps entries, descending
};

}  // namespace lipar::pipeline
