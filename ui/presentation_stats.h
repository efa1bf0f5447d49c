#pragma once
// What the GUI measures on its own side of the engine (EngineStats covers the engine's side):
// frames shown per second, the latency from a source frame's arrival to its presentation, and
// the results the FramePacer dropped before they could be shown.

#include <cstdint>

#include "lipar/stats.h"

struct PresentationStats {
    double displayFps = 0;
    lipar::LatencySummary latency;  // source frame arrival -> shown
    int64_t dropped = 0;            // results that never reached the screen (FramePacer)
};
