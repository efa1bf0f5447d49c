// Motion-compensated duplicate detection (lipar/motion.h): estimation, shifting, the detector on
// synthetic pans with known motion, and the prune plan / restoration / recovery bookkeeping.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <array>
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

// A still camera with noise: motion-compensated detection (`config`) finds no motion and gives
// the masks of co-located detection, bit for bit.
void expect_still_scene_masks_equal_co_located(const DetectorConfig& config) {
    auto still = pan(9, 0, 0) + 0.05 * torch::randn({16, 9, 24, 40}, at::detail::createCPUGenerator(4));
    DuplicateDetector a{DetectorConfig{}}, b(config);
    for (int64_t s = 0; s < 9; s += 3) {
        const auto ra = a.detect(still.narrow(1, s, 3));
        const auto rb = b.detect(still.narrow(1, s, 3));
        EXPECT_TRUE(torch::equal(ra.keep, rb.keep)) << "block at " << s;
        EXPECT_FALSE(rb.motion.active());
        a.commit_block(ra.keep);
        b.commit_block(rb.keep);
    }
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
    expect_still_scene_masks_equal_co_located(global);
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
    EXPECT_EQ(parse_motion_compensation("local"), MotionCompensation::Local);
    EXPECT_EQ(parse_motion_compensation("tiles"), MotionCompensation::Invalid);
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

// Restoration of a one-frame block of 1x3 tokens (2x2 latent pixels each) keeping token 0 only,
// after the previous frame 0..11 ([1, 1, 2, 6]), under `motion`.
torch::Tensor previous_frame() { return torch::arange(12, torch::kFloat32).view({1, 1, 2, 6}); }
torch::Tensor restore_one_kept_token(const BlockMotion& motion, const torch::Tensor& prev) {
    auto keep = torch::tensor({1, 0, 0}, torch::kBool).view({1, 1, 3});
    auto plan = PrunePlan::build(keep, 3, 12, torch::kCPU, &motion);
    return restore_pruned(torch::zeros({1, 1, 1, 2, 6}), plan, prev);
}

TEST(LiparMotion, restoration_copies_the_displaced_previous_frame) {
    BlockMotion m;
    m.step = {Motion{0, 2}};
    m.whole_step = {Shift{0, 2}};
    m.token_shift = {Shift{0, 1}};
    const auto prev = previous_frame();
    const auto out = restore_one_kept_token(m, prev);
    // Pruned pixel (row 1, column 4) shows the previous frame's (1, 2).
    EXPECT_EQ(out[0][0][0][1][4].item<float>(), prev[0][0][1][2].item<float>());
    EXPECT_EQ(out[0][0][0][0][0].item<float>(), 0.f);  // kept
}


// ---- Local motion (per-tile block matching, whole tokens) ----

// Latents [C, F, H, W] whose columns left of `split` (latent pixels) pan by vx_left per frame and
// the rest by vx_right, each half showing its own scene.
torch::Tensor split_pan(int64_t frames, double vx_left, double vx_right, int64_t split = 16) {
    std::vector<torch::Tensor> f;
    for (int64_t i = 0; i < frames; ++i) {
        auto left = field(16, 24, 40, 0, -vx_left * double(i), 3);
        auto right = field(16, 24, 40, 0, -vx_right * double(i), 11);
        f.push_back(torch::cat({left.narrow(2, 0, split), right.narrow(2, split, 40 - split)}, 2));
    }
    return torch::stack(f, 1);
}

TEST(LiparLocalMotion, block_matching_finds_each_tiles_own_motion) {
    auto z = split_pan(2, 2, -4).transpose(0, 1);  // left: one token right; right: two tokens left
    const auto maps = estimate_local_motion(z.narrow(0, 1, 1), z.narrow(0, 0, 1), 3, 4);
    ASSERT_EQ(maps.size(), 1u);
    const int64_t gw = 20;
    const auto d = map_displacements(maps[0], gw);
    auto at = [&](int64_t y, int64_t x) { return d[static_cast<size_t>(y * gw + x)]; };
    // Tiles of 4x4 tokens: columns 0..7 are the left scene, 8..19 the right one (tiles not
    // touching the split).
    for (int64_t y : {1, 5, 9})
        for (int64_t x : {2, 5}) EXPECT_EQ(at(y, x), (Shift{0, 1})) << y << ", " << x;
    for (int64_t y : {1, 5, 9})
        for (int64_t x : {13, 17}) EXPECT_EQ(at(y, x), (Shift{0, -2})) << y << ", " << x;
    // Exposed: the left edge of the left scene, the right edge of the right one.
    EXPECT_EQ(maps[0][static_cast<size_t>(3 * gw + 0)], -1);
    EXPECT_EQ(maps[0][static_cast<size_t>(3 * gw + 19)], -1);
    EXPECT_EQ(maps[0][static_cast<size_t>(3 * gw + 18)], -1);
    EXPECT_EQ(maps[0][static_cast<size_t>(3 * gw + 1)], 3 * gw + 0);
    // A still scene with noise: the identity.
    auto a = field(16, 24, 40, 0, 0, 5).unsqueeze(0);
    auto b = a + 0.02 * torch::randn(a.sizes(), at::detail::createCPUGenerator(9));
    EXPECT_TRUE(is_identity(estimate_local_motion(b, a, 3, 4)[0]));
}

TEST(LiparLocalMotion, maps_compose_gather_and_expose) {
    // 2x3 grid; step: content moved one token right (column 0 exposed).
    const auto step = shifted_source_locations(2, 3, Shift{0, 1});
    const auto twice = compose(step, step);
    EXPECT_EQ(twice, (SourceMap{-1, -1, 0, -1, -1, 3}));
    EXPECT_EQ(compose(identity_map(2, 3), step), step);
    auto grid = torch::arange(6, torch::kFloat32).view({2, 3});
    EXPECT_TRUE(torch::equal(gather_maps(grid, step), torch::tensor({0.f, 0.f, 1.f, 3.f, 3.f, 4.f}).view({2, 3})));
    auto tokens = torch::arange(12, torch::kFloat32).view({2, 3, 2});
    EXPECT_TRUE(torch::equal(gather_tokens(tokens, step)[1][2], tokens[1][1]));
    EXPECT_TRUE(torch::equal(exposed_locations(step, 2, 3, torch::kCPU),
                             torch::tensor({1, 0, 0, 1, 0, 0}, torch::kBool).view({2, 3})));
    // Latents of 2x2 pixels per token: every pixel from the same place in the source token.
    auto latent = torch::arange(24, torch::kFloat32).view({1, 4, 6});
    auto moved = gather_latents(latent, step, 3, 2, 2);
    // Where a source exists, the same as shifting by one token; the exposed column keeps its own.
    EXPECT_TRUE(torch::equal(moved.narrow(2, 2, 4), shift_frames(latent, Shift{0, 2}).narrow(2, 2, 4)));
    EXPECT_TRUE(torch::equal(moved.narrow(2, 0, 2), latent.narrow(2, 0, 2)));
    // The same for a map that is not one translation: token 4 reads token 0.
    SourceMap odd = identity_map(2, 3);
    odd[4] = 0;
    auto m = gather_latents(latent, odd, 3, 2, 2);
    EXPECT_EQ(m[0][2][2].item<float>(), latent[0][0][0].item<float>());
    EXPECT_EQ(m[0][3][3].item<float>(), latent[0][1][1].item<float>());
    EXPECT_EQ(m[0][3][1].item<float>(), latent[0][3][1].item<float>());
    EXPECT_TRUE(is_identity(identity_map(3, 4)));
    EXPECT_FALSE(is_identity(odd));
}

TEST(LiparLocalMotion, two_scenes_moving_apart_keep_far_fewer_tokens_than_one_global_motion) {
    DetectorConfig off, global, local;
    global.motion = MotionMode::Global;
    local.motion = MotionMode::Local;
    const auto z = split_pan(12, 2, -4);
    // Kept ratio over blocks after the first, of all tokens and of the inner columns of each
    // scene (token columns 2..5 of the left one, 10..15 of the right one).
    auto kept = [&](const DetectorConfig& config) {
        DuplicateDetector d(config);
        std::array<double, 3> sum{0, 0, 0};
        for (int64_t s = 0; s < 12; s += 3) {
            const auto r = d.detect(z.narrow(1, s, 3));
            d.commit_block(r.keep);
            if (s == 0) continue;
            auto k = r.keep.to(torch::kDouble);
            sum[0] += k.mean().item<double>() / 3;
            sum[1] += k.narrow(2, 2, 4).mean().item<double>() / 3;
            sum[2] += k.narrow(2, 10, 6).mean().item<double>() / 3;
        }
        return sum;
    };
    const auto co_located = kept(off), one_motion = kept(global), per_tile = kept(local);
    std::cout << "[ info ] two scenes moving apart, kept (all, left inner, right inner): co-located "
              << co_located[0] << ", " << co_located[1] << ", " << co_located[2] << "; global " << one_motion[0]
              << ", " << one_motion[1] << ", " << one_motion[2] << "; local " << per_tile[0] << ", "
              << per_tile[1] << ", " << per_tile[2] << "\n";
    EXPECT_GT(co_located[0], 0.9);
    EXPECT_LT(per_tile[0], one_motion[0] - 0.1);
    // One motion serves one scene; tiles serve both.
    EXPECT_GT(std::max(one_motion[1], one_motion[2]), 0.9);
    EXPECT_LT(per_tile[1], 0.5);
    EXPECT_LT(per_tile[2], 0.5);
    // A plain pan of whole tokens: as good as global.
    const auto p = pan(12, 0, 2);
    EXPECT_LT(mean_kept(local, p, 3), 0.7 * mean_kept(off, p, 3));
    // No motion: the same masks as co-located detection, bit for bit.
    expect_still_scene_masks_equal_co_located(local);
}

// The plan's reference bookkeeping under random local maps and masks equals moving the reference
// frame by frame along each map and writing each frame's kept tokens (what the detector does).
TEST(LiparLocalMotion, the_plan_refreshes_the_reference_as_following_each_frame_would) {
    const int64_t frames = 3, gh = 4, gw = 5, hw = gh * gw;
    auto gen = at::detail::createCPUGenerator(23);
    for (int trial = 0; trial < 20; ++trial) {
        BlockMotion m;
        m.step.assign(frames, Motion{});
        m.whole_step.assign(frames, Shift{});
        m.token_shift.assign(frames, Shift{});
        auto vectors = torch::randint(-1, 2, {frames, hw, 2}, gen, torch::kInt64);
        for (int64_t f = 0; f < frames; ++f) {
            SourceMap map(hw);
            for (int64_t p = 0; p < hw; ++p) {
                const int64_t sy = p / gw - vectors[f][p][0].item<int64_t>(), sx = p % gw - vectors[f][p][1].item<int64_t>();
                map[p] = sy >= 0 && sy < gh && sx >= 0 && sx < gw ? sy * gw + sx : -1;
            }
            m.source.push_back(map);
        }
        auto keep = torch::rand({frames, gh, gw}, gen).lt(0.3);
        auto plan = PrunePlan::build(keep, 6, 12, torch::kCPU, &m);
        // Frame-by-frame: values >= 0 are kept-list rows, -2 - loc the old reference at loc, -1 none.
        std::vector<int64_t> ref(hw);
        for (int64_t p = 0; p < hw; ++p) ref[p] = -2 - p;
        int64_t row = 0;
        auto k = keep.contiguous();
        std::vector<int64_t> expected_src(frames * hw);
        SourceMap to_grid = identity_map(gh, gw);
        for (int64_t f = 0; f < frames; ++f) {
            std::vector<int64_t> moved(hw, -1);
            for (int64_t p = 0; p < hw; ++p)
                if (m.source[f][p] >= 0) moved[p] = ref[m.source[f][p]];
            to_grid = f == 0 ? m.source[0] : compose(to_grid, m.source[f]);
            for (int64_t p = 0; p < hw; ++p) {
                expected_src[f * hw + p] = to_grid[p] >= 0 ? to_grid[p] : p;
                if (k[f][p / gw][p % gw].item<bool>()) moved[p] = row++;
            }
            ref = moved;
        }
        ASSERT_EQ(plan.kept(), row);
        std::vector<int64_t> dst(plan.ref_dst.data_ptr<int64_t>(), plan.ref_dst.data_ptr<int64_t>() + plan.ref_dst.numel());
        std::vector<int64_t> src(plan.ref_src.data_ptr<int64_t>(), plan.ref_src.data_ptr<int64_t>() + plan.ref_src.numel());
        size_t next = 0;
        for (int64_t q = 0; q < hw; ++q) {
            if (ref[q] >= 0) {
                ASSERT_LT(next, dst.size());
                EXPECT_EQ(dst[next], q);
                EXPECT_EQ(src[next], ref[q]);
                ++next;
            } else {
                EXPECT_EQ(plan.ref_shift_host[q], ref[q] == -1 ? -1 : -2 - ref[q]) << "trial " << trial << " location " << q;
            }
        }
        EXPECT_EQ(next, dst.size());
        // Each pruned slot recovers from where its content sits on the reference grid.
        auto pruned = plan.pruned_index.contiguous();
        for (int64_t i = 0; i < pruned.numel(); ++i)
            EXPECT_EQ(plan.pruned_loc[i].item<int64_t>(), expected_src[pruned[i].item<int64_t>()]);
        // And the clean K/V reference follows: kept rows land, the rest moves along.
        ReferenceKv kv(1);
        auto first = PrunePlan::build(torch::ones({1, gh, gw}, torch::kBool), 0, 12, torch::kCPU);
        auto k0 = torch::arange(hw, torch::kFloat32).view({1, hw, 1, 1}).expand({1, hw, 1, 12}).contiguous();
        kv.refresh(0, first, k0, k0);
        kv.mark_refreshed(first);
        auto kk = (torch::arange(row, torch::kFloat32) + 100).view({1, row, 1, 1}).expand({1, row, 1, 12}).contiguous();
        kv.refresh(0, plan, kk, kk);
        kv.mark_refreshed(plan);
        for (int64_t q = 0; q < hw; ++q) {
            if (ref[q] == -1) continue;
            const float want = ref[q] >= 0 ? 100.f + float(ref[q]) : float(-2 - ref[q]);
            EXPECT_EQ(kv.keys(0)[0][q][0][0].item<float>(), want) << "location " << q;
        }
    }
}

TEST(LiparLocalMotion, restoration_copies_each_token_from_its_own_source) {
    BlockMotion m;
    m.step = {Motion{}};
    m.whole_step = {Shift{}};
    m.token_shift = {Shift{}};
    SourceMap map = identity_map(1, 3);
    map[2] = 0;  // token 2's content came from token 0; token 1 did not move
    m.source = {map};
    const auto prev = previous_frame();
    const auto out = restore_one_kept_token(m, prev);
    EXPECT_EQ(out[0][0][0][1][5].item<float>(), prev[0][0][1][1].item<float>());
    EXPECT_EQ(out[0][0][0][0][4].item<float>(), prev[0][0][0][0].item<float>());
    EXPECT_EQ(out[0][0][0][1][3].item<float>(), prev[0][0][1][3].item<float>());
    EXPECT_EQ(out[0][0][0][0][0].item<float>(), 0.f);  // kept
}

}  // namespace
}  // namespace lipar::accel
