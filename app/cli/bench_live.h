#pragma once
// `lipar bench --live`: see bench_live.cpp.

#include <cstdint>
#include <string>

#include "lipar/params.h"

namespace lipar::cli {

// Optional mid-stream prompt change: `prompt` is set `after_s` seconds after the clock starts.
struct LiveSwap {
    std::string prompt;  // empty: no swap
    double after_s = 4.0;
};

int bench_live(const EngineConfig& config, const std::string& clip, int64_t frames,
               const EditParams& params, const LiveSwap& swap = {});

}  // namespace lipar::cli
