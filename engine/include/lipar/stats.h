#pragma once
// Statistics the engine publishes (1-second windows). Plain data; copied out under a lock.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lipar {

// Percentiles of per-frame latencies (source frame arrival -> a point downstream).
struct LatencySummary {
    double p50_ms = 0, p95_ms = 0, max_ms = 0;
    int64_t frames = 0;  // how many latencies the figures cover
};

// The last `capacity` latencies of one stage and their percentiles. One thread at a time.
class LatencyTracker {
  public:
    explicit LatencyTracker(size_t capacity = 256) : m_ring(capacity > 0 ? capacity : 1) {}
    void add(double ms) {
        m_ring[m_next] = ms;
        m_next = (m_next + 1) % m_ring.size();
        if (m_count < m_ring.size()) ++m_count;
    }
    void clear() { m_next = m_count = 0; }
    LatencySummary summary() const {
        LatencySummary s;
        if (m_count == 0) return s;
        std::vector<double> v(m_ring.begin(), m_ring.begin() + static_cast<std::ptrdiff_t>(m_count));
        std::sort(v.begin(), v.end());
        auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
        s.p50_ms = at(0.5);
        s.p95_ms = at(0.95);
        s.max_ms = v.back();
        s.frames = static_cast<int64_t>(m_count);
        return s;
    }

  private:
    std::vector<double> m_ring;
    size_t m_next = 0, m_count = 0;
};

struct StageTimes {
    double encode_ms = 0;   // per output frame
    double detect_ms = 0;
    double denoise_ms = 0;  // DiT passes incl. the t = 0 cache pass
    double decode_ms = 0;
    double total_ms = 0;
};

struct EngineStats {
    double input_fps = 0;     // frames accepted from the source
    double output_fps = 0;    // frames produced by the engine
    double latency_ms = 0;    // source frame arrival -> its output ready (mean over the window)
    LatencySummary latency;           // the same, percentiles of the last 256 results
    LatencySummary recorded_latency;  // source frame arrival -> written to the recording
    StageTimes stages;        // mean per output frame over the window
    int64_t dropped_frames = 0;   // total, live sources only: frames the engine never took
    int64_t dropped_output = 0;   // results the consumer never took (pushed out, or skipped by
                                  // take_latest) -- a presenter counts its own drops
    int64_t frames_in = 0;        // totals
    int64_t frames_out = 0;
    int64_t stream_resets = 0;    // restarts: gaps in frame indices (pruning reference only), refused
                                  // frames, out-of-memory retries
    double kept_ratio = 1.0;      // fraction of tokens recomputed (last block)
    // Camera motion found by motion-compensated detection (last block), video pixels per frame.
    double motion_x = 0, motion_y = 0;
    std::string prompt;           // the prompt the last block was edited with
    // Compare mode: compute time per output frame of each side (same input, separate caches).
    double baseline_ms_per_frame = 0;
    double lipar_ms_per_frame = 0;
    std::string device;           // "NVIDIA H100 80GB HBM3", "cpu (16 threads)"
    std::string pack_name;
    bool untrained = false;       // the pack holds random (untrained) weights
    std::vector<std::string> styles;  // prompts of the styles the pack was trained on
    // "" unless a new prompt is being encoded (the stream goes on with the previous one):
    // "encoding 'watercolor' (3.1 s)".
    std::string text_status;
};

}  // namespace lipar
