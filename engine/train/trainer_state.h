#pragma once
// What the trainers share: progress reports, the learning-rate schedule, and checkpoints that a
// run can resume from. A checkpoint is written to temporary names and renamed into place, so an
// interrupted run leaves the previous checkpoint intact.

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace lipar::train {

struct TrainProgress {
    std::string stage;  // "autoencoder" | "editor"
    int64_t step = 0;   // steps done
    int64_t steps = 0;  // steps in this stage
    double loss = 0;    // running mean over the last report interval
    double samples_per_s = 0;
    double eta_s = 0;   // remaining seconds of this stage at the current rate
    double lr = 0;
    std::string detail;  // e.g. the phase times of `--profile`; empty otherwise
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
    // Called at each report for TrainProgress::detail.
    void set_detail(std::function<std::string()> fn) { m_detail = std::move(fn); }

private:
    void report(int64_t step_done, double lr);
    std::string m_stage;
    int64_t m_steps, m_every;
    ProgressFn m_fn;
    std::function<std::string()> m_detail;
    double m_loss_sum = 0;
    int64_t m_count = 0, m_samples = 0;
    std::chrono::steady_clock::time_point m_since;
    double m_rate = 0;
};

// Wall time per phase of a training step (`lipar train --profile`). When enabled, each mark()
// waits for the device so that a phase's kernels are counted in that phase (which slows the step
// a little); when disabled, mark() does nothing.
class PhaseTimer {
public:
    PhaseTimer(bool enabled, torch::Device device);
    bool enabled() const { return m_enabled; }
    void start();                 // begins a step's first phase
    void mark(const char* phase);  // ends the current phase under this name
    // "phase 12.3 ms (40%), ..." per step since the last call, then starts over.
    std::string summary_and_reset();

private:
    bool m_enabled;
    torch::Device m_device;
    std::vector<std::pair<std::string, double>> m_ms;
    int64_t m_steps = 0;
    std::chrono::steady_clock::time_point m_since;
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
