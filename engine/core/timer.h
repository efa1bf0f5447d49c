#pragma once
// Wall-clock timing of engine stages. On CUDA, synchronize before reading (device work is
// asynchronous); Timer::elapsed_ms(sync_device) does that for the given device.

#include <torch/torch.h>

#include <chrono>

namespace lipar {

// Waits for all queued work on `device` (no-op on CPU).
void synchronize(const torch::Device& device);

class Timer {
public:
    Timer() : m_start(std::chrono::steady_clock::now()) {}
    void reset() { m_start = std::chrono::steady_clock::now(); }
    double elapsed_ms() const {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - m_start)
            .count();
    }
    double elapsed_ms(const torch::Device& sync_device) const {
        synchronize(sync_device);
        return elapsed_ms();
    }

private:
    std::chrono::steady_clock::time_point m_start;
};

}  // namespace lipar
