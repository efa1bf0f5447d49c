// Motion-compensated duplicate detection (lipar/motion.h): estimation, shifting, the detector on
// synthetic pans with known motion, and the prune plan / restoration / recovery bookkeeping.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lipar/detector.h"
#include "lipar/filters.h"
#include "lipar/motion.h"
#include "lipar/pruned_forward.h"
#include "lipar/recovery.h"
#include "lipar/params.h"

namespace lipar::accel {
namespace {

// A smooth random field sampled at (y + oy, x + ox): sums of sinusoids, so that a fractional
// offset is an exact translation of the same content.
torch::Tensor field(int64_t c, int64_t h, int64_t w, double oy, double ox, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    auto ys = (torch::arange(h, torch::kDouble) + oy).view({1, h, 1});
    auto xs = (torch::arange(w, torch::kDouble) + ox).view({1, 1, w});
    auto out = torch::zeros({c, h, w}, torch::kDouble);
    for (int k = 0; k < 6; ++k) {
        auto fy = torch::rand({c, 1, 1}, gen, torch::kDouble) * 0.9 + 0.1;
        auto fx = torch::rand({c, 1, 1}, gen, torch::kDouble) * 0.9 + 0.1;
        auto phase = torch::rand({c, 1, 1}, gen, torch::kDouble) * 6.28;
        out += torch::sin(ys * fy + xs * fx + phase);
    }
    return out.to(torch::kFloat32) * 0.5;
}

// Latents [C, F, H, W] of a camera panning over a static scene: frame f shows the scene moved by
// f * (vy, vx) latent pixels (content moves down / right for positive values).
torch::Tensor pan(int64_t frames, double vy, double vx, uint64_t seed = 3) {
    std::vector<torch::Tensor> f;
    for (int64_t i = 0; i < frames; ++i) f.push_back(field(16, 24, 40, -vy * double(i), -vx * double(i), seed));
    return torch::stack(f, 1);
}

TEST(LiparMotion, estimates_whole_and_fractional_translations) {
    for (const auto& [vy, vx] : std::vector<std::pair<double, double>>{{2, -3}, {0.75, -1.25}, {-2, 1}}) {
        auto z = pan(2, vy, vx).transpose(0, 1);  // [F, C, H, W]
        const auto m = estimate_global_motion(z.narrow(0, 1, 1), z.narrow(0, 0, 1), 6);
        ASSERT_EQ(m.size(), 1u);
        // Within a quarter of a latent pixel (2 video pixels); restoration moves whole pixels.
        EXPECT_NEAR(m[0].dy, vy, 0.25) << vy << ", " << vx;
        EXPECT_NEAR(m[0].dx, vx, 0.25) << vy << ", " << vx;
    }
}

TEST(LiparMotion, a_still_camera_with_noise_has_no_motion) {
    auto a = field(16, 24, 40, 0, 0, 5).unsqueeze(0);
    auto b = a + 0.02 * torch::randn(a.sizes(), at::detail::createCPUGenerator(9));
    const auto m = estimate_global_motion(b, a, 6);
    EXPECT_EQ(m[0].dy, 0.0);
    EXPECT_EQ(m[0].dx, 0.0);
}

TEST(LiparMotion, shifts_move_content_by_the_displacement_and_replicate_the_border) {
    auto x = torch::arange(20, torch::kFloat32).view({1, 4, 5});
    auto s = shift_frames(x, Shift{1, 2});  // out[y][x] = in[y - 1][x - 2], clamped
    EXPECT_EQ(s[0][2][3].item<float>(), x[0][1][1].item<float>());
    EXPECT_EQ(s[0][0][0].item<float>(), x[0][0][0].item<float>());
    auto exposed = exposed_tokens(4, 8, Shift{0, 3}, torch::kCPU);  // 3 columns = 2 token columns
    EXPECT_EQ(exposed.sizes(), (std::vector<int64_t>{2, 4}));
    EXPECT_EQ(exposed.sum().item<int64_t>(), 4);
    EXPECT_TRUE(exposed[0][1].item<bool>());
    EXPECT_FALSE(exposed[0][2].item<bool>());
    // Tokens shifted by whole latent pixels equal the shifted latents cut into tokens.
    auto z = field(4, 6, 8, 0, 0, 2);
    auto tokens = patchify_tokens(z.unsqueeze(1))[0];
    auto moved = patchify_tokens(shift_frames(z, Shift{-1, 3}).unsqueeze(1))[0];
    EXPECT_TRUE(torch::allclose(shift_tokens(tokens, Shift{-1, 3}), moved));
    EXPECT_EQ(latent_to_tokens(2.9), 1);
    EXPECT_EQ(latent_to_tokens(-3.2), -2);
    const auto map = shifted_source_locations(2, 3, Shift{0, 1});
    EXPECT_EQ(map, (std::vector<int64_t>{-1, 0, 1, -1, 3, 4}));
}

double mean_kept(const DetectorConfig& config, const torch::Tensor& z, int64_t fpb) {
    DuplicateDetector d(config);
    double kept = 0;
    int64_t blocks = 0;
    for (int64_t s = 0; s + fpb <= z.size(1); s += fpb, ++blocks) {
        const auto r = d.detect(z.narrow(1, s, fpb));
        d.commit_block(r.keep);
        if (s > 0) kept += r.kept_ratio;
    }
    return kept / double(blocks - 1);
}

TEST(LiparMotion, a_pan_keeps_far_fewer_tokens_with_compensation_and_a_still_scene_is_unchanged) {
    DetectorConfig off, global;
    global.motion = MotionMode::Global;
    for (const auto& [vy, vx] : std::vector<std::pair<double, double>>{{0, 2}, {1, -1}, {-2, 1}}) {
        const auto z = pan(12, vy, vx);
        const double co_located = mean_kept(off, z, 3);
        const double compensated = mean_kept(global, z, 3);
        EXPECT_GT(co_located, 0.6) << vy << ", " << vx;
        EXPECT_LT(compensated, 0.7 * co_located) << vy << ", " << vx;
    }
    // Half a latent pixel per frame: whole-pixel steps leave up to half a pixel of misalignment
    // (docs/LIPAR_DETECTION.md), so little is gained, but never more is kept than co-located.
    const auto half = pan(12, 0.5, 1.5);
    EXPECT_LE(mean_kept(global, half, 3), mean_kept(off, half, 3) + 0.02);
    // No motion: the same masks, bit for bit.
    auto still = pan(9, 0, 0) + 0.05 * torch::randn({16, 9, 24, 40}, at::detail::createCPUGenerator(4));
    DuplicateDetector a(off), b(global);
    for (int64_t s = 0; s < 9; s += 3) {
        const auto ra = a.detect(still.narrow(1, s, 3));
        const auto rb = b.detect(still.narrow(1, s, 3));
        EXPECT_TRUE(torch::equal(ra.keep, rb.keep)) << "block at " << s;
        EXPECT_FALSE(rb.motion.active());
        a.commit_block(ra.keep);
        b.commit_block(rb.keep);
    }
}

// A pan (one token per latent frame) with a patch of 5x5 tokens whose content changes in every
// frame and moves with the scene: the patch must be recomputed wherever it is. Filters at
// co-located positions see it in a different place in each frame and smear it along its path
// (the look-ahead filters both ways); filters that follow the motion see it at one place: the
// whole patch is kept and its trail is not.
TEST(LiparMotion, the_temporal_filters_follow_the_motion_and_keep_a_changing_patch_that_moves_with_it) {
    const int64_t frames = 12;
    auto z = pan(frames, 0, 2);
    auto gen = at::detail::createCPUGenerator(17);
    for (int64_t f = 0; f < frames; ++f) {
        const int64_t x0 = 2 + 2 * f;  // latent pixels, even: whole tokens
        z.select(1, f).narrow(1, 6, 10).narrow(2, x0, 10).add_(torch::randn({16, 10, 10}, gen));
    }
    for (auto style : {FilterStyle::LookAhead, FilterStyle::Causal}) {
        double patch_kept[2] = {0, 0}, all_kept[2] = {0, 0};
        for (int follow = 0; follow < 2; ++follow) {
            DetectorConfig config;
            config.motion = MotionMode::Global;
            config.filters = style;
            config.filters_follow_motion = follow == 1;
            DuplicateDetector d(config);
            int64_t counted = 0;
            for (int64_t s = 0; s < frames; s += 3) {
                const auto r = d.detect(z.narrow(1, s, 3));
                d.commit_block(r.keep);
                if (s == 0) continue;
                for (int64_t i = 0; i < 3; ++i) {
                    const int64_t tx = (2 + 2 * (s + i)) / 2;
                    patch_kept[follow] += r.keep[i].narrow(0, 3, 5).narrow(1, tx, 5).to(torch::kDouble).mean().item<double>();
                    ++counted;
                }
                all_kept[follow] += r.kept_ratio * 3;
            }
            patch_kept[follow] /= double(counted);
            all_kept[follow] /= double(counted);
        }
        std::cout << "[ info ] " << (style == FilterStyle::LookAhead ? "look-ahead" : "causal")
                  << " filters: changing patch kept " << patch_kept[0] << " co-located, " << patch_kept[1]
                  << " following the motion; all tokens " << all_kept[0] << ", " << all_kept[1] << "\n";
        EXPECT_GE(patch_kept[1], 0.95);
        EXPECT_GE(patch_kept[0], 0.95);
        if (style == FilterStyle::LookAhead) EXPECT_LT(all_kept[1], all_kept[0] - 0.03);
        else EXPECT_LE(all_kept[1], all_kept[0]);
    }
}

TEST(LiparMotion, the_detector_reports_each_frames_step_and_keeps_exposed_tokens) {
    DetectorConfig config;
    config.motion = MotionMode::Global;
    DuplicateDetector d(config);
    const auto z = pan(6, 0, 2);
    d.commit_block(d.detect(z.narrow(1, 0, 3)).keep);
    const auto r = d.detect(z.narrow(1, 3, 3));
    ASSERT_EQ(r.motion.step.size(), 3u);
    for (const auto& s : r.motion.step) {
        EXPECT_NEAR(s.dx, 2.0, 0.2);
        EXPECT_NEAR(s.dy, 0.0, 0.2);
    }
    EXPECT_EQ(r.motion.whole_step[0].dx, 2);
    // Token shifts against the reference grid: 1, 2, 3 tokens.
    EXPECT_EQ(r.motion.token_shift[2].dx, 3);
    // The left token column has no predecessor: always recomputed.
    EXPECT_TRUE(r.keep.select(2, 0).all().item<bool>());
    EXPECT_EQ(parse_motion_compensation("local"), MotionCompensation::Invalid);
    EXPECT_EQ(parse_motion_compensation("global"), MotionCompensation::Global);
}

TEST(LiparMotion, plan_recovers_from_displaced_locations_and_moves_the_reference) {
    // 2 frames on a 1x4 grid, content moving right by one token per frame.
    BlockMotion m;
    m.step = {Motion{0, 2}, Motion{0, 2}};
    m.whole_step = {Shift{0, 2}, Shift{0, 2}};
    m.token_shift = {Shift{0, 1}, Shift{0, 2}};
    auto keep = torch::tensor({1, 0, 0, 0, 1, 1, 0, 0}, torch::kBool).view({2, 1, 4});
    auto plan = PrunePlan::build(keep, 3, 12, torch::kCPU, &m);
    // Frame 0's pruned slots 1..3 read reference locations 0..2; frame 1's slots 2, 3 read 0, 1.
    EXPECT_TRUE(torch::equal(plan.pruned_loc, torch::tensor({0, 1, 2, 0, 1}, torch::kInt64)));
    // The reference moves by the last token shift (2): locations 0, 1 have no source.
    EXPECT_EQ(plan.ref_shift_host, (std::vector<int64_t>{-1, -1, 0, 1}));
    // Kept tokens land where they are at the block's end: frame 0's slot 0 moves one more token
    // to location 1, where frame 1's slot 1 lands too (the later frame wins); frame 1's slot 0
    // stays at 0.
    EXPECT_TRUE(torch::equal(plan.ref_dst, torch::tensor({0, 1}, torch::kInt64)));
    EXPECT_TRUE(torch::equal(plan.ref_src, torch::tensor({1, 2}, torch::kInt64)));

    ReferenceKv ref(1);
    auto first = PrunePlan::build(torch::ones({1, 1, 4}, torch::kBool), 0, 12, torch::kCPU);
    auto k0 = torch::arange(4, torch::kFloat32).view({1, 4, 1, 1}).expand({1, 4, 1, 12}).contiguous();
    ref.refresh(0, first, k0, k0);
    ref.mark_refreshed(first);
    ASSERT_TRUE(ref.complete());
    auto k = torch::full({1, 3, 1, 12}, 9.f);
    ref.refresh(0, plan, k, k);
    ref.mark_refreshed(plan);
    // Locations 2, 3 hold what was at 0, 1; locations 0, 1 were refreshed by the block.
    EXPECT_EQ(ref.keys(0)[0][2][0][0].item<float>(), 0.f);
    EXPECT_EQ(ref.keys(0)[0][3][0][0].item<float>(), 1.f);
    EXPECT_EQ(ref.keys(0)[0][0][0][0].item<float>(), 9.f);
    EXPECT_TRUE(ref.complete());
}

TEST(LiparMotion, restoration_copies_the_displaced_previous_frame) {
    BlockMotion m;
    m.step = {Motion{0, 2}};
    m.whole_step = {Shift{0, 2}};
    m.token_shift = {Shift{0, 1}};
    auto keep = torch::tensor({1, 0, 0}, torch::kBool).view({1, 1, 3});
    auto plan = PrunePlan::build(keep, 3, 12, torch::kCPU, &m);
    auto x0 = torch::zeros({1, 1, 1, 2, 6});
    auto prev = torch::arange(12, torch::kFloat32).view({1, 1, 2, 6});
    auto out = restore_pruned(x0, plan, prev);
    // Pruned pixel (row 1, column 4) shows the previous frame's (1, 2).
    EXPECT_EQ(out[0][0][0][1][4].item<float>(), prev[0][0][1][2].item<float>());
    EXPECT_EQ(out[0][0][0][0][0].item<float>(), 0.f);  // kept
}

}  // namespace
}  // namespace lipar::accel
