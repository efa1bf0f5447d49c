// DuplicateDetector stream handling: stream start, reset, commits, configuration, errors.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "lipar/detector.h"
#include "unit/lipar_detection_helpers.h"
#include "unit/lipar_detector_fixtures.h"

namespace lipar::accel {
namespace {

using testing::kChannels;
using testing::kGrid;
using testing::square_change_latents;

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
