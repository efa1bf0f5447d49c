#pragma once
// Sliding-window statistics for the engine's 1-second readouts, and the collector that the
// engine's threads feed and Engine::stats() reads.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "lipar/stats.h"

namespace lipar::runtime {

using Clock = std::chrono::steady_clock;

// A small ring of timestamped samples (value, weight); the oldest sample is overwritten when the
// ring is full. Not thread-safe: its owner locks.
class StatsWindow {
  public:
    explicit StatsWindow(double window_s = 1.0, size_t capacity = 1024);

    void add(Clock::time_point t, double value = 0.0, double weight = 1.0);
    void clear();

    // Sum of the weights of the samples in (now - window, now], per second.
    double rate(Clock::time_point now) const;
    // Weighted mean of the values in the window; the newest sample's value when the window is
    // empty (a block slower than the window must not read as zero); `fallback` when never fed.
    double mean(Clock::time_point now, double fallback = 0.0) const;
    size_t size() const { return m_size; }

  private:
    struct Sample {
        Clock::time_point t;
        double value = 0.0;
        double weight = 0.0;
    };
    const Sample& at(size_t i) const;  // 0 = oldest

    Clock::duration m_window;
    std::vector<Sample> m_ring;
    size_t m_head = 0;  // next write position
    size_t m_size = 0;
};

// Times of one finished block, per output frame.
struct BlockSample {
    int64_t output_frames = 0;
    double encode_ms = 0, detect_ms = 0, denoise_ms = 0, decode_ms = 0, total_ms = 0;
    double baseline_ms = 0;  // compare mode: dense side's denoise + decode (whole block)
    double kept_ratio = 1.0;
    double motion_x = 0, motion_y = 0;  // camera motion, video pixels per frame
    bool compare = false;
    std::string prompt;  // the prompt the block was edited with
};

// Thread-safe: every method locks m_mutex (a leaf lock: nothing else is locked while it is held).
// Fed by the input channel (on_input, on_drop: producer threads) and the engine thread (the rest);
// snapshot() is called by Engine::stats() on the controlling thread.
class StatsCollector {
  public:
    void clear();
    void set_identity(const std::string& device, const std::string& pack, bool untrained,
                      const std::vector<std::string>& styles = {});
    void on_input(Clock::time_point t);
    void on_drop(int64_t frames);
    void on_outputs(Clock::time_point t, const std::vector<double>& latencies_ms);
    void on_recorded(double latency_ms);  // the recorder wrote a frame
    void on_block(Clock::time_point t, const BlockSample& block);
    void on_stream_reset();

    EngineStats snapshot(Clock::time_point now) const;
    // What the text path is doing, asked at each snapshot (must be thread-safe); cleared by
    // clear() and by set_text_status_source({}) before what it reads goes away.
    void set_text_status_source(std::function<std::string()> source);

  private:
    mutable std::mutex m_mutex;  // guards every field below
    StatsWindow m_inputs, m_outputs, m_latency;
    StatsWindow m_encode, m_detect, m_denoise, m_decode, m_total;  // weighted by output frames
    StatsWindow m_baseline, m_lipar;                               // compare mode blocks only
    int64_t m_frames_in = 0, m_frames_out = 0, m_dropped = 0, m_resets = 0;
    double m_kept_ratio = 1.0;
    double m_motion_x = 0, m_motion_y = 0;
    std::string m_prompt;
    std::string m_device, m_pack;
    bool m_untrained = false;
    std::vector<std::string> m_styles;
    std::function<std::string()> m_text_status;
    LatencyTracker m_latency_tracker, m_recorded_tracker;
};

}  // namespace lipar::runtime
