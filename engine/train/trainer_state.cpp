#include "train/trainer_state.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/error.h"
#include "core/timer.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "model/vae/tae_layers.h"

namespace lipar::train {

namespace fs = std::filesystem;

PhaseTimer::PhaseTimer(bool enabled, torch::Device device) : m_enabled(enabled), m_device(device) {}

void PhaseTimer::start() {
    if (!m_enabled) return;
    synchronize(m_device);
    m_since = std::chrono::steady_clock::now();
    ++m_steps;
}

void PhaseTimer::mark(const char* phase) {
    if (!m_enabled) return;
    synchronize(m_device);
    const auto now = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - m_since).count();
    m_since = now;
    for (auto& [name, total] : m_ms) {
        if (name == phase) {
            total += ms;
            return;
        }
    }
    m_ms.emplace_back(phase, ms);
}

std::string PhaseTimer::summary_and_reset() {
    if (!m_enabled || m_steps == 0) return {};
    double all = 0;
    for (const auto& [name, total] : m_ms) all += total;
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << "per step " << all / m_steps << " ms:";
    for (const auto& [name, total] : m_ms)
        s << " " << name << " " << total / m_steps << " ms (" << std::setprecision(0)
          << 100.0 * total / std::max(all, 1e-9) << "%)" << std::setprecision(1);
    m_ms.clear();
    m_steps = 0;
    return s.str();
}

double learning_rate(double peak, int64_t step, int64_t steps, int64_t warmup) {
    if (step < warmup) return peak * double(step + 1) / double(warmup);
    const double p = double(step - warmup) / double(std::max<int64_t>(1, steps - warmup));
    return peak * (0.1 + 0.9 * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, p))));
}

void set_learning_rate(torch::optim::Optimizer& opt, double lr) {
    for (auto& group : opt.param_groups()) {
        auto& o = group.options();
        if (auto* adamw = dynamic_cast<torch::optim::AdamWOptions*>(&o)) adamw->lr(lr);
        else if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&o)) adam->lr(lr);
    }
}

ProgressMeter::ProgressMeter(std::string stage, int64_t steps, int64_t first_step, ProgressFn fn,
                             int64_t every)
    : m_stage(std::move(stage)), m_steps(steps), m_every(every), m_fn(std::move(fn)),
      m_since(std::chrono::steady_clock::now()) {
    (void)first_step;
}

void ProgressMeter::add(int64_t step_done, double loss, int64_t samples, double lr) {
    m_loss_sum += loss;
    ++m_count;
    m_samples += samples;
    if (step_done % m_every == 0 || step_done == m_steps) report(step_done, lr);
}

void ProgressMeter::finish(int64_t step_done, double lr) {
    if (m_count > 0) report(step_done, lr);
}

void ProgressMeter::report(int64_t step_done, double lr) {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - m_since).count();
    const double steps_per_s = s > 0 ? double(m_count) / s : 0;
    TrainProgress p;
    p.stage = m_stage;
    p.step = step_done;
    p.steps = m_steps;
    p.loss = m_count ? m_loss_sum / double(m_count) : 0;
    p.samples_per_s = s > 0 ? double(m_samples) / s : 0;
    p.eta_s = steps_per_s > 0 ? double(m_steps - step_done) / steps_per_s : 0;
    p.lr = lr;
    if (m_detail) p.detail = m_detail();
    if (m_fn) m_fn(p);
    m_loss_sum = 0;
    m_count = 0;
    m_samples = 0;
    m_since = now;
}

std::string StageCheckpoint::weights_path() const { return (fs::path(dir) / (stage + ".safetensors")).string(); }
std::string StageCheckpoint::optimizer_path() const { return (fs::path(dir) / (stage + ".optim.pt")).string(); }
std::string StageCheckpoint::step_path() const { return (fs::path(dir) / (stage + ".step")).string(); }

bool StageCheckpoint::exists() const {
    return fs::is_regular_file(weights_path()) && fs::is_regular_file(optimizer_path()) &&
           fs::is_regular_file(step_path());
}

int64_t StageCheckpoint::load(torch::nn::Module& model, torch::optim::Optimizer& opt) const {
    io::apply_weights(model, io::read_safetensors(weights_path()));
    torch::load(opt, optimizer_path());
    std::ifstream in(step_path());
    int64_t step = -1;
    in >> step;
    LIPAR_CHECK(in && step >= 0, StatusCode::FormatError, "checkpoint ", step_path(),
                " is unreadable");
    return step;
}

void StageCheckpoint::save(const torch::nn::Module& model, torch::optim::Optimizer& opt,
                           int64_t step) const {
    // Each file is written under a temporary name and renamed; the step file goes last, so a
    // checkpoint with a step file is complete.
    io::write_safetensors(weights_path(), model::parameters_to_map(model));
    const std::string opt_tmp = optimizer_path() + ".tmp";
    torch::save(opt, opt_tmp);
    fs::rename(opt_tmp, optimizer_path());
    const std::string step_tmp = step_path() + ".tmp";
    {
        std::ofstream out(step_tmp);
        out << step << "\n";
        LIPAR_CHECK(out.good(), StatusCode::IoError, "cannot write ", step_tmp);
    }
    fs::rename(step_tmp, step_path());
}

void ensure_writable_dir(const std::string& dir, const char* what) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    LIPAR_CHECK(!ec && fs::is_directory(dir), StatusCode::IoError, "cannot create the ", what,
                " folder '", dir, "': ", ec ? ec.message() : "not a folder");
    const auto probe = fs::path(dir) / ".lipar-write-test";
    {
        std::ofstream out(probe);
        out << "ok";
        LIPAR_CHECK(out.good(), StatusCode::IoError, "the ", what, " folder '", dir,
                    "' is not writable");
    }
    fs::remove(probe, ec);
}

}  // namespace lipar::train
