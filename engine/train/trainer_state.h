#pragma once
// What the trainers share: progress reports, the learning-rate schedule, and checkpoints that a
// run can resume from. A checkpoint is written to temporary names and renamed into place, so an
// interrupted run leaves the previous checkpoint intact.

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace lipar::train {

struct TrainProgress {
    std::string stage;  // "autoencoder" | "editor"
    int64_t step = 0;   // steps done
    int64_t steps = 0;  // steps in this stage
    double loss = 0;    // running mean over the last report interval
    double samples_per_s = 0;
    double eta_s = 0;   // remaining seconds of this stage at the current rate
    double lr = 0;
};
using ProgressFn = std::function<void(const TrainProgress&)>;

// Linear warm-up, then cosine decay to 10% of the peak.
double learning_rate(double peak, int64_t step, int64_t steps, int64_t warmup);
void set_learning_rate(torch::optim::Optimizer& opt, double lr);

// Rolling loss mean and throughput between reports.
class ProgressMeter {
public:
    ProgressMeter(std::string stage, int64_t steps, int64_t first_step, ProgressFn fn,
                  int64_t every = 50);
    void add(int64_t step_done, double loss, int64_t samples, double lr);
    void finish(int64_t step_done, double lr);

private:
    void report(int64_t step_done, double lr);
    std::string m_stage;
    int64_t m_steps, m_every;
    ProgressFn m_fn;
    double m_loss_sum = 0;
    int64_t m_count = 0, m_samples = 0;
    std::chrono::steady_clock::time_point m_since;
    double m_rate = 0;
};

// Weights (safetensors) + optimizer state + step of one stage, under `dir`/`stage`.*.
struct StageCheckpoint {
    std::string dir, stage;
    std::string weights_path() const;
    std::string optimizer_path() const;
    std::string step_path() const;
    bool exists() const;
    int64_t load(torch::nn::Module& model, torch::optim::Optimizer& opt) const;  // returns step
    void save(const torch::nn::Module& model, torch::optim::Optimizer& opt, int64_t step) const;
};

// Throws Error(IoError) when `dir` cannot be created or written.
void ensure_writable_dir(const std::string& dir, const char* what);

}  // namespace lipar::train
