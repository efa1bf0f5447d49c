#pragma once
// Statistics the engine publishes (1-second windows). Plain data; copied out under a lock.

#include <cstdint>
#include <string>
#include <vector>

namespace lipar {

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
    StageTimes stages;        // mean per output frame over the window
    int64_t dropped_frames = 0;   // total, live sources only
    int64_t frames_in = 0;        // totals
    int64_t frames_out = 0;
    int64_t stream_resets = 0;    // restarts: gaps in frame indices (pruning reference only), refused
                                  // frames, out-of-memory retries
    double kept_ratio = 1.0;      // fraction of tokens recomputed (last block)
    // Compare mode: compute time per output frame of each side (same input, separate caches).
    double baseline_ms_per_frame = 0;
    double lipar_ms_per_frame = 0;
    std::string device;           // "NVIDIA H100 80GB HBM3", "cpu (16 threads)"
    std::string pack_name;
    bool untrained = false;       // the pack holds random (untrained) weights
    std::vector<std::string> styles;  // prompts of the styles the pack was trained on
};

}  // namespace lipar
