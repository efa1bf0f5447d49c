// Thresholds, smoothing and clean-up on synthetic latents whose masks are worked out by hand.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "lipar/detector.h"
#include "unit/lipar_detection_helpers.h"
#include "unit/lipar_detector_fixtures.h"

namespace lipar::accel {
namespace {

using testing::dyadic_noise;
using testing::expect_frame;
using testing::kChannels;
using testing::kGrid;
using testing::mask_from_rows;
using testing::mask_to_rows;
using testing::no_tokens;
using testing::square_change_latents;
using testing::stream_keep;
using testing::unpatchify;

TEST(LiparDetector, tau1_below_the_change_keeps_the_region_plus_the_cleanup_margin) {
    // Without smoothing the threshold mask is the 5x5 square (rows/cols 5..9); the mask median
    // drops its corners, open/close keep the rest, and the 5x5 dilation adds two tokens around.
    DetectorConfig config;
    config.smooth = false;
    const torch::Tensor keep = stream_keep(square_change_latents(6, 0.5), config, 3);
    const torch::Tensor expected = mask_from_rows({
        "................",
        "................",
        "................",
        "....#######.....",
        "...#########....",
        "...#########....",
        "...#########....",
        "...#########....",
        "...#########....",
        "...#########....",
        "...#########....",
        "....#######.....",
        "................",
        "................",
        "................",
        "................",
    });
    for (int64_t f = 1; f < 6; ++f) {
        expect_frame(keep, f, expected);
    }
}

TEST(LiparDetector, smoothing_widens_a_strong_change_by_one_token_before_cleanup) {
    // Median: the square minus its corners; Gaussian: anything touching that (> tau1 for a jump
    // of 8); clean-up keeps that 7x7-minus-corners shape; the dilation adds two tokens.
    const torch::Tensor keep = stream_keep(square_change_latents(6, 8.0), DetectorConfig{}, 3);
    const torch::Tensor expected = mask_from_rows({
        "................",
        "................",
        "...#########....",
        "..###########...",
        "..###########...",
        "..###########...",
        "..###########...",
        "..###########...",
        "..###########...",
        "..###########...",
        "..###########...",
        "..###########...",
        "...#########....",
        "................",
        "................",
        "................",
    });
    for (int64_t f = 1; f < 6; ++f) {
        expect_frame(keep, f, expected);
    }
}

TEST(LiparDetector, tau1_above_the_change_keeps_nothing_after_frame_0) {
    DetectorConfig config;
    config.long_term = false;
    const torch::Tensor keep = stream_keep(square_change_latents(8, 0.125), config, 3);
    EXPECT_TRUE(keep[0].all().item<bool>());
    EXPECT_FALSE(keep.narrow(0, 1, 7).any().item<bool>());
}

TEST(LiparDetector, slow_drift_without_filters_is_caught_each_time_it_exceeds_tau2) {
    // 0.125 per frame never passes tau1 = 0.15, but the distance to the last kept content does:
    // 0.375 > 0.3 three frames after each refresh.
    DetectorConfig config;
    config.smooth = false;
    config.cleanup = false;
    const torch::Tensor keep = stream_keep(square_change_latents(13, 0.125), config, 1);
    torch::Tensor region = no_tokens().clone();
    region.narrow(0, 5, 5).narrow(1, 5, 5).fill_(true);
    for (int64_t f = 1; f < 13; ++f) {
        expect_frame(keep, f, f % 3 == 0 ? region : no_tokens());
    }
}

TEST(LiparDetector, slow_drift_with_default_filters_is_caught_a_frame_later) {
    // The mask median needs the long-term detection in two consecutive frames (frames 3 and 4:
    // the centre 3x3 survives), the dilation then keeps 7x7 in frames 4, 5 and 6, each refreshing
    // the reference; the drift then builds up again and repeats at 10, 11, 12.
    std::vector<DetectionResult> results;
    const torch::Tensor keep =
        stream_keep(square_change_latents(13, 0.125), DetectorConfig{}, 1, &results);
    torch::Tensor block = no_tokens().clone();
    block.narrow(0, 4, 7).narrow(1, 4, 7).fill_(true);
    for (int64_t f = 1; f < 13; ++f) {
        const bool kept = (f >= 4 && f <= 6) || (f >= 10 && f <= 12);
        expect_frame(keep, f, kept ? block : no_tokens());
    }
    // The reference follows the refreshes: the centre token is 0.125 * (frames since frame 6)
    // away at frame 9, and 0.125 after the refresh at frame 10.
    EXPECT_NEAR(results[9].distance_long[0][7][7].item<float>(), 0.375f, 1e-6);
    EXPECT_NEAR(results[11].distance_long[0][7][7].item<float>(), 0.125f, 1e-6);

    DetectorConfig no_long_term;
    no_long_term.long_term = false;
    EXPECT_FALSE(stream_keep(square_change_latents(13, 0.125), no_long_term, 1)
                     .narrow(0, 1, 12)
                     .any()
                     .item<bool>());
}

TEST(LiparDetector, zero_thresholds_without_filters_keep_tokens_with_14_or_more_changed_values) {
    torch::manual_seed(3);
    torch::Tensor tokens = dyadic_noise({1, 8, 8, 64}).repeat({3, 1, 1, 1});
    tokens[1][1][1].narrow(0, 0, 13).add_(1.0);  // 13 of 64 values: all above the trimmed band
    tokens[1][2][2].narrow(0, 0, 14).add_(1.0);
    tokens[1][3][3].add_(0.25);
    // Split change: 10 values in frame 1, 10 other values in frame 2 -> 20 vs the reference.
    tokens[1][4][4].narrow(0, 20, 10).add_(1.0);
    tokens[2].copy_(tokens[1]);
    tokens[2][4][4].narrow(0, 40, 10).add_(1.0);
    DetectorConfig config;
    config.tau1 = 0.0;
    config.tau2 = 0.0;
    config.smooth = false;
    config.cleanup = false;
    const torch::Tensor keep = stream_keep(unpatchify(tokens, 16), config, 1);
    torch::Tensor frame1 = torch::zeros({8, 8}, torch::kBool);
    frame1[2][2] = true;
    frame1[3][3] = true;
    torch::Tensor frame2 = torch::zeros({8, 8}, torch::kBool);
    frame2[4][4] = true;
    EXPECT_TRUE(torch::equal(keep[1], frame1)) << mask_to_rows(keep[1]);
    EXPECT_TRUE(torch::equal(keep[2], frame2)) << mask_to_rows(keep[2]);
}

TEST(LiparDetector, zero_thresholds_keep_everything_when_every_patch_changes) {
    torch::manual_seed(5);
    const torch::Tensor z = torch::randn({kChannels, 7, 2 * kGrid, 2 * kGrid});
    DetectorConfig config;
    config.tau1 = 0.0;
    config.tau2 = 0.0;
    EXPECT_TRUE(stream_keep(z, config, 3).all().item<bool>());
    EXPECT_TRUE(detect_sequence(z, config, 3).keep.all().item<bool>());
    // A negative tau1 keeps everything even for identical frames.
    config.tau1 = -1.0;
    EXPECT_TRUE(stream_keep(square_change_latents(5, 0.0), config, 3).all().item<bool>());
}

TEST(LiparDetector, zero_thresholds_prune_only_the_inside_of_a_static_region) {
    // Token rows/cols 2..13 never change; everything else changes every frame. Median, Gaussian
    // and dilation each eat into the static region from its border.
    torch::manual_seed(11);
    const int64_t frames = 5;
    torch::Tensor noise = torch::randn({kChannels, frames, 2 * kGrid, 2 * kGrid});
    noise.narrow(2, 4, 24).narrow(3, 4, 24).zero_();
    const torch::Tensor z = dyadic_noise({kChannels, 1, 2 * kGrid, 2 * kGrid}) + noise;
    DetectorConfig config;
    config.tau1 = 0.0;
    config.tau2 = 0.0;
    const torch::Tensor expected = mask_from_rows({
        "################",
        "################",
        "################",
        "################",
        "################",
        "######....######",
        "#####......#####",
        "#####......#####",
        "#####......#####",
        "#####......#####",
        "######....######",
        "################",
        "################",
        "################",
        "################",
        "################",
    });
    const torch::Tensor keep = stream_keep(z, config, 3);
    for (int64_t f = 1; f < frames; ++f) {
        expect_frame(keep, f, expected);
    }
}

}  // namespace
}  // namespace lipar::accel
