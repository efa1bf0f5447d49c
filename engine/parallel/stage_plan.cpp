#include "parallel/stage_plan.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace lipar::parallel {

std::vector<LayerRange> balance_stages(const std::vector<double>& layer_cost, int64_t stages,
                                       double first_stage_extra) {
    const int64_t n = static_cast<int64_t>(layer_cost.size());
    LIPAR_CHECK(stages >= 1 && stages <= n, StatusCode::InvalidArgument, "cannot split ", n,
                " transformer blocks into ", stages, " pipeline stages (1..", n, ")");
    for (double c : layer_cost)
        LIPAR_CHECK(c >= 0.0, StatusCode::InvalidArgument, "a block's cost must not be negative, got ", c);
    LIPAR_CHECK(first_stage_extra >= 0.0, StatusCode::InvalidArgument, "the first stage's extra cost must not be negative");
    std::vector<double> prefix(static_cast<size_t>(n + 1), 0.0);
    for (int64_t i = 0; i < n; ++i) prefix[static_cast<size_t>(i + 1)] = prefix[static_cast<size_t>(i)] + layer_cost[static_cast<size_t>(i)];
    auto cost = [&](int64_t a, int64_t b) { return prefix[static_cast<size_t>(b)] - prefix[static_cast<size_t>(a)]; };
    // best[s][i]: the smallest largest-stage cost of the first i blocks in s stages; cut[s][i] the
    // start of the last of them.
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<std::vector<double>> best(static_cast<size_t>(stages + 1), std::vector<double>(static_cast<size_t>(n + 1), inf));
    std::vector<std::vector<int64_t>> cut(static_cast<size_t>(stages + 1), std::vector<int64_t>(static_cast<size_t>(n + 1), 0));
    best[0][0] = 0.0;
    for (int64_t s = 1; s <= stages; ++s) {
        for (int64_t i = s; i <= n; ++i) {
            for (int64_t j = i - 1; j >= s - 1; --j) {  // last stage = blocks [j, i), smallest first
                const double own = cost(j, i) + (s == 1 ? first_stage_extra : 0.0);
                const double v = std::max(best[static_cast<size_t>(s - 1)][static_cast<size_t>(j)], own);
                if (v < best[static_cast<size_t>(s)][static_cast<size_t>(i)]) {
                    best[static_cast<size_t>(s)][static_cast<size_t>(i)] = v;
                    cut[static_cast<size_t>(s)][static_cast<size_t>(i)] = j;
                }
            }
        }
    }
    std::vector<LayerRange> ranges(static_cast<size_t>(stages));
    int64_t end = n;
    for (int64_t s = stages; s >= 1; --s) {
        const int64_t begin = cut[static_cast<size_t>(s)][static_cast<size_t>(end)];
        ranges[static_cast<size_t>(s - 1)] = {begin, end};
        end = begin;
    }
    return ranges;
}

std::string describe_stages(const std::vector<LayerRange>& ranges) {
    std::string out;
    for (const auto& r : ranges) {
        if (!out.empty()) out += " | ";
        out += std::to_string(r.begin) + "-" + std::to_string(r.end - 1);
    }
    return out;
}

}  // namespace lipar::parallel
