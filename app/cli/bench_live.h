#pragma once
// `lipar bench --live`: see bench_live.cpp.

#include <cstdint>
#include <string>

#include "lipar/params.h"

namespace lipar::cli {

int bench_live(const EngineConfig& config, const std::string& clip, int64_t frames,
               const EditParams& params);

}  // namespace lipar::cli
