// DuplicateDetector on synthetic latents whose masks can be worked out by hand.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "lipar/detector.h"
#include "unit/lipar_detection_helpers.h"

namespace lipar::accel {
namespace {

using testing::dyadic_noise;
using testing::mask_from_rows;
using testing::mask_to_rows;

constexpr int64_t kChannels = 16;
constexpr int64_t kGrid = 16;  // tokens per side; latents are 32 x 32

// Static dyadic background; the token square [lo, lo + size)^2 gains `delta` every frame.
torch::Tensor square_change_latents(int64_t frames, double delta, int64_t lo = 5,
                                    int64_t size = 5) {
    torch::manual_seed(7);
    torch::Tensor z = dyadic_noise({kChannels, 1, 2 * kGrid, 2 * kGrid}).repeat({1, frames, 1, 1});
    for (int64_t f = 0; f < frames; ++f) {
        z.narrow(1, f, 1).narrow(2, 2 * lo, 2 * size).narrow(3, 2 * lo, 2 * size).add_(delta * f);
    }
    return z;
}

// [F, Ht, Wt, 4C] token values back to [C, F, 2Ht, 2Wt] latents.
torch::Tensor unpatchify(const torch::Tensor& tokens, int64_t channels) {
    const int64_t f = tokens.size(0), ht = tokens.size(1), wt = tokens.size(2);
    return tokens.view({f, ht, wt, channels, 2, 2})
        .permute({3, 0, 1, 4, 2, 5})
        .reshape({channels, f, 2 * ht, 2 * wt});
}

// Runs z through a fresh detector in blocks of `per_block`, committing each block's own mask.
torch::Tensor stream_keep(const torch::Tensor& z, const DetectorConfig& config, int64_t per_block,
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

void expect_frame(const torch::Tensor& keep, int64_t frame, const torch::Tensor& expected) {
    EXPECT_TRUE(torch::equal(keep[frame], expected))
        << "frame " << frame << " actual:\n" << mask_to_rows(keep[frame]) << "expected:\n"
        << mask_to_rows(expected);
}

const torch::Tensor kNone = torch::zeros({kGrid, kGrid}, torch::kBool);

TEST(LiparDetector, first_frame_of_a_stream_is_fully_kept) {
    DuplicateDetector detector;
    const DetectionResult r = detector.detect(square_change_latents(3, 0.0));
    EXPECT_TRUE(r.keep[0].all().item<bool>());
    EXPECT_DOUBLE_EQ(r.kept_ratio_per_frame[0], 1.0);
    EXPECT_DOUBLE_EQ(r.kept_ratio_per_frame[1], 0.0);  // identical frames: nothing to recompute
    EXPECT_NEAR(r.kept_ratio, 1.0 / 3.0, 1e-12);
    EXPECT_TRUE(detector.has_history());
    EXPECT_EQ(detector.frames_seen(), 3);
}

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
    torch::Tensor region = kNone.clone();
    region.narrow(0, 5, 5).narrow(1, 5, 5).fill_(true);
    for (int64_t f = 1; f < 13; ++f) {
        expect_frame(keep, f, f % 3 == 0 ? region : kNone);
    }
}

TEST(LiparDetector, slow_drift_with_default_filters_is_caught_a_frame_later) {
    // The mask median needs the long-term detection in two consecutive frames (frames 3 and 4:
    // the centre 3x3 survives), the dilation then keeps 7x7 in frames 4, 5 and 6, each refreshing
    // the reference; the drift then builds up again and repeats at 10, 11, 12.
    std::vector<DetectionResult> results;
    const torch::Tensor keep =
        stream_keep(square_change_latents(13, 0.125), DetectorConfig{}, 1, &results);
    torch::Tensor block = kNone.clone();
    block.narrow(0, 4, 7).narrow(1, 4, 7).fill_(true);
    for (int64_t f = 1; f < 13; ++f) {
        const bool kept = (f >= 4 && f <= 6) || (f >= 10 && f <= 12);
        expect_frame(keep, f, kept ? block : kNone);
    }
    // The reference follows the refreshes: the centre token is 0.125 * (frames since frame 6)
    // away at frame 9, and 0.125 after the refresh at frame 10.
    EXPECT_NEAR(results[9].distance_long[0][7][7].item<float>(), 0.375f, 1e-6);
    EXPECT_NEAR(results[11].distance_long[0][7][7].item<float>(), 0.125f, 1e-6);

    DetectorConfig no_long_term;
    no_long_term.long_term = false;
    EXPECT_FALSE(
        stream_keep(square_change_latents(13, 0.125), no_long_term, 1).narrow(0, 1, 12).any().item<bool>());
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

TEST(LiparDetector, reset_makes_the_next_block_a_stream_start) {
    const torch::Tensor z = testing::structured_latents(kChannels, 9, 32, 32, 21);
    DuplicateDetector detector;
    for (int64_t s = 0; s < 6; s += 3) {
        detector.commit_block(detector.detect(z.narrow(1, s, 3)).keep);
    }
    detector.reset();
    EXPECT_FALSE(detector.has_history());
    const DetectionResult after_reset = detector.detect(z.narrow(1, 6, 3));
    DuplicateDetector fresh;
    const DetectionResult expected = fresh.detect(z.narrow(1, 6, 3));
    EXPECT_TRUE(after_reset.keep[0].all().item<bool>());
    EXPECT_TRUE(torch::equal(after_reset.keep, expected.keep));
    EXPECT_TRUE(torch::equal(after_reset.distance, expected.distance));
}

TEST(LiparDetector, a_new_latent_shape_starts_a_new_stream) {
    DuplicateDetector detector;
    detector.detect(testing::structured_latents(kChannels, 3, 32, 32, 1));
    const DetectionResult r = detector.detect(testing::structured_latents(kChannels, 3, 32, 48, 2));
    EXPECT_EQ(r.keep.sizes(), (std::vector<int64_t>{3, 16, 24}));
    EXPECT_TRUE(r.keep[0].all().item<bool>());
    EXPECT_EQ(detector.frames_seen(), 3);
}

TEST(LiparDetector, min_keep_ratio_enforces_the_fraction_in_frames_that_keep_anything) {
    // The square changes in frames 1..5 only. Frames 1..6 keep 9x9 minus corners (77 of 256
    // tokens, 30%): frame 6 through the mask median of frames 4..6 and the dilation. Frame 7 keeps
    // the 7x7 dilation of frame 6's cleaned 3x3 centre (49 tokens), frame 8 nothing. At 40%
    // (103 tokens) 77 grows by one 3x3 step to 11x11 minus corners (117), 49 by two to 11x11.
    torch::Tensor z = square_change_latents(9, 0.5);
    z.narrow(1, 6, 3).copy_(z.narrow(1, 5, 1).expand({kChannels, 3, 2 * kGrid, 2 * kGrid}));
    DetectorConfig config;
    config.smooth = false;
    config.long_term = false;  // keeps later blocks independent of what enforcement refreshed
    const DetectionResult plain = detect_sequence(z, config, 3);
    config.min_keep_ratio = 0.4;
    const DetectionResult enforced = detect_sequence(z, config, 3);
    for (int64_t f = 1; f < 9; ++f) {
        const double before = plain.kept_ratio_per_frame[size_t(f)];
        const double after = enforced.kept_ratio_per_frame[size_t(f)];
        if (f <= 6) {
            EXPECT_DOUBLE_EQ(before, 77.0 / 256.0) << "frame " << f;
            EXPECT_DOUBLE_EQ(after, 117.0 / 256.0) << "frame " << f;
        } else if (f == 7) {
            EXPECT_DOUBLE_EQ(before, 49.0 / 256.0);
            EXPECT_DOUBLE_EQ(after, 121.0 / 256.0);
        } else {
            EXPECT_DOUBLE_EQ(before, 0.0);
            EXPECT_DOUBLE_EQ(after, 0.0);
        }
        // Enforcement only adds tokens.
        EXPECT_FALSE((plain.keep[f] & ~enforced.keep[f]).any().item<bool>()) << "frame " << f;
    }
}

TEST(LiparDetector, set_config_takes_effect_at_the_next_block) {
    const torch::Tensor z = square_change_latents(6, 8.0);
    DuplicateDetector detector;
    detector.commit_block(detector.detect(z.narrow(1, 0, 3)).keep);
    DetectorConfig strict;
    strict.tau1 = 1e6;
    strict.tau2 = 1e6;
    strict.cleanup = false;  // the clean-up would carry the previous block's mask into frame 3
    detector.set_config(strict);
    EXPECT_FALSE(detector.detect(z.narrow(1, 3, 3)).keep.any().item<bool>());
    DetectorConfig bad;
    bad.trim_low = 0.9;
    EXPECT_THROW(detector.set_config(bad), Error);
    EXPECT_EQ(detector.config().tau1, 1e6);
}

TEST(LiparDetector, committing_the_whole_block_refreshes_the_reference_everywhere) {
    // With every token committed as recomputed, drift is measured from the previous frame.
    const torch::Tensor z = square_change_latents(6, 0.125);
    DuplicateDetector detector;
    DetectionResult r;
    for (int64_t f = 0; f < 6; ++f) {
        r = detector.detect(z.narrow(1, f, 1));
        detector.commit_block(torch::ones_like(r.keep));
    }
    EXPECT_NEAR(r.distance_long[0][7][7].item<float>(), 0.125f, 1e-6);
    EXPECT_FALSE(r.keep.any().item<bool>());
}

TEST(LiparDetector, threshold_mask_refresh_ignores_the_committed_mask) {
    DetectorConfig config;
    config.reference_refresh = ReferenceRefresh::ThresholdMask;
    const torch::Tensor z = square_change_latents(6, 0.125);
    DuplicateDetector detector(config);
    DetectionResult r;
    for (int64_t f = 0; f < 5; ++f) {
        r = detector.detect(z.narrow(1, f, 1));
        detector.commit_block(torch::ones_like(r.keep));
    }
    // Frames 1..3 only passed tau2 at frame 3; the reference is frame 3's content.
    EXPECT_NEAR(r.distance_long[0][7][7].item<float>(), 0.125f, 1e-6);
    r = detector.detect(z.narrow(1, 5, 1));
    EXPECT_NEAR(r.distance_long[0][7][7].item<float>(), 0.25f, 1e-6);
}

TEST(LiparDetector, an_uncommitted_block_is_committed_with_its_own_mask) {
    const torch::Tensor z = testing::structured_latents(kChannels, 9, 32, 32, 8);
    DuplicateDetector committing, forgetful;
    for (int64_t s = 0; s < 9; s += 3) {
        const DetectionResult a = committing.detect(z.narrow(1, s, 3));
        committing.commit_block(a.keep);
        const DetectionResult b = forgetful.detect(z.narrow(1, s, 3));
        EXPECT_TRUE(torch::equal(a.keep, b.keep));
        EXPECT_TRUE(torch::equal(a.distance_long, b.distance_long));
    }
}

TEST(LiparDetector, misuse_and_bad_input_raise_clear_errors) {
    DuplicateDetector detector;
    try {
        detector.commit_block(torch::ones({3, 16, 16}, torch::kBool));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::InvalidArgument);
    }
    detector.detect(square_change_latents(3, 0.5));
    try {
        detector.commit_block(torch::ones({2, 16, 16}, torch::kBool));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::ShapeMismatch);
        EXPECT_NE(std::string(e.what()).find("[2, 16, 16]"), std::string::npos);
    }
    auto code_of = [&](const torch::Tensor& z) {
        try {
            DuplicateDetector().detect(z);
        } catch (const Error& e) {
            return e.code();
        }
        return StatusCode::Ok;
    };
    EXPECT_EQ(code_of(torch::zeros({16, 32, 32})), StatusCode::ShapeMismatch);
    EXPECT_EQ(code_of(torch::zeros({16, 3, 31, 32})), StatusCode::ShapeMismatch);
    EXPECT_EQ(code_of(torch::zeros({16, 0, 32, 32})), StatusCode::ShapeMismatch);
    EXPECT_EQ(code_of(torch::zeros({16, 3, 32, 32}, torch::kInt)), StatusCode::Unsupported);
    DetectorConfig bad;
    bad.tau1 = std::nan("");
    EXPECT_THROW(DuplicateDetector{bad}, Error);
    bad = DetectorConfig{};
    bad.min_keep_ratio = 1.5;
    EXPECT_THROW(detect_sequence(square_change_latents(3, 0.5), bad, 3), Error);
    EXPECT_THROW(detect_sequence(square_change_latents(3, 0.5), DetectorConfig{}, 0), Error);
}

TEST(LiparDetector, half_precision_latents_give_the_mask_of_their_float_values) {
    const torch::Tensor z = testing::structured_latents(kChannels, 6, 32, 32, 13);
    for (auto dtype : {torch::kBFloat16, torch::kFloat16}) {
        const torch::Tensor low = z.to(dtype);
        const DetectionResult a = detect_sequence(low, DetectorConfig{}, 3);
        const DetectionResult b = detect_sequence(low.to(torch::kFloat), DetectorConfig{}, 3);
        EXPECT_TRUE(torch::equal(a.keep, b.keep));
        EXPECT_EQ(a.distance.scalar_type(), torch::kFloat);
    }
}

}  // namespace
}  // namespace lipar::accel
