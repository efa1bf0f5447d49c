#pragma once
// Pipeline stages of the DiT (issue 16): which transformer blocks each stage runs.

#include <cstdint>
#include <string>
#include <vector>

namespace lipar::parallel {

struct LayerRange {
    int64_t begin = 0, end = 0;  // blocks [begin, end)
    int64_t size() const { return end - begin; }
    bool operator==(const LayerRange& o) const { return begin == o.begin && end == o.end; }
};

// Splits the blocks into `stages` contiguous, non-empty ranges that minimise the largest stage's
// cost (the sum of its blocks' costs, e.g. measured milliseconds, plus `first_stage_extra` for the
// first stage: the work its thread does besides its blocks); among equal splits the last stages
// get fewer blocks (30 equal blocks in 4 stages: 8, 8, 8, 6). Throws Error(InvalidArgument) for
// stages outside 1..blocks or a negative cost.
std::vector<LayerRange> balance_stages(const std::vector<double>& layer_cost, int64_t stages,
                                       double first_stage_extra = 0.0);

// "0-14 | 15-29" for logs.
std::string describe_stages(const std::vector<LayerRange>& ranges);

}  // namespace lipar::parallel
