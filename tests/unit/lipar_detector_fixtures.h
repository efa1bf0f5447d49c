#pragma once
// Synthetic latents and a streaming driver shared by the LIPAR detector tests.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "lipar/detector.h"
#include "unit/lipar_detection_helpers.h"

namespace lipar::accel::testing {

constexpr int64_t kChannels = 16;
constexpr int64_t kGrid = 16;  // tokens per side; latents are 32 x 32

// Static dyadic background; the token square [lo, lo + size)^2 gains `delta` every frame.
inline torch::Tensor square_change_latents(int64_t frames,
                                           double delta,
                                           int64_t lo = 5,
                                           int64_t size = 5) {
    torch::manual_seed(7);
    torch::Tensor z = dyadic_noise({kChannels, 1, 2 * kGrid, 2 * kGrid}).repeat({1, frames, 1, 1});
    for (int64_t f = 0; f < frames; ++f) {
        z.narrow(1, f, 1).narrow(2, 2 * lo, 2 * size).narrow(3, 2 * lo, 2 * size).add_(delta * f);
    }
    return z;
}

// [F, Ht, Wt, 4C] token values back to [C, F, 2Ht, 2Wt] latents.
inline torch::Tensor unpatchify(const torch::Tensor& tokens, int64_t channels) {
    const int64_t f = tokens.size(0), ht = tokens.size(1), wt = tokens.size(2);
    return tokens.view({f, ht, wt, channels, 2, 2})
        .permute({3, 0, 1, 4, 2, 5})
        .reshape({channels, f, 2 * ht, 2 * wt});
}

// Runs z through a fresh detector in blocks of `per_block`, committing each block's own mask.
inline torch::Tensor stream_keep(const torch::Tensor& z,
                                 const DetectorConfig& config,
                                 int64_t per_block,
                                 std::vector<DetectionResult>* results = nullptr) {
    DuplicateDetector detector(config);
    std::vector<torch::Tensor> keeps;
    for (int64_t s = 0; s < z.size(1); s += per_block) {
        DetectionResult r = detector.detect(z.narrow(1, s, std::min(per_block, z.size(1) - s)));
        detector.commit_block(r.keep);
        keeps.push_back(r.keep);
        if (results) {
            results->push_back(r);
        }
    }
    return torch::cat(keeps, 0);
}

inline void expect_frame(const torch::Tensor& keep, int64_t frame, const torch::Tensor& expected) {
    EXPECT_TRUE(torch::equal(keep[frame], expected)) << "frame " << frame << " actual:\n"
                                                     << mask_to_rows(keep[frame]) << "expected:\n"
                                                     << mask_to_rows(expected);
}

inline torch::Tensor no_tokens() {
    return torch::zeros({kGrid, kGrid}, torch::kBool);
}

}  // namespace lipar::accel::testing
