// Each building block of LIPAR detection on hand-made inputs with hand-written expectations.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "lipar/filters.h"
#include "unit/lipar_detection_helpers.h"

namespace lipar::accel {
namespace {

using testing::frames_of;
using testing::mask_from_rows;
using testing::mask_to_rows;

void expect_mask(const torch::Tensor& actual, const torch::Tensor& expected) {
    EXPECT_TRUE(torch::equal(actual.to(torch::kBool), expected.to(torch::kBool)))
        << "actual:\n"
        << mask_to_rows(actual) << "expected:\n"
        << mask_to_rows(expected);
}

TEST(LiparFilters, trim_band_of_64_values_is_12_to_51) {
    const TrimBand band = trim_band(64, 0.2, 0.8);
    EXPECT_EQ(band.lo, 12);
    EXPECT_EQ(band.hi, 51);
    EXPECT_THROW(trim_band(4, 0.5, 0.6), Error);  // floor(2.0) == floor(2.4): empty band
    EXPECT_THROW(trim_band(64, 0.8, 0.2), Error);
}

TEST(LiparFilters, trimmed_mean_averages_the_middle_band_of_sorted_abs_differences) {
    // |a - b| = {3,7,0,9,1,5,2,8,4,6}: sorted 0..9, band [2, 8) = {2..7}, mean 4.5.
    const torch::Tensor a = torch::tensor({-3.f, 7.f, 0.f, 9.f, -1.f, 5.f, 2.f, -8.f, 4.f, 6.f});
    EXPECT_FLOAT_EQ(trimmed_mean_abs_diff(a, torch::zeros({10}), 0.2, 0.8).item<float>(), 4.5f);
    // Two large outliers fall above the band: distance 0 although the plain mean is 20.
    torch::Tensor outliers = torch::zeros({10});
    outliers[3] = 100.f;
    outliers[7] = -100.f;
    EXPECT_FLOAT_EQ(trimmed_mean_abs_diff(outliers, torch::zeros({10}), 0.2, 0.8).item<float>(),
                    0.f);
    EXPECT_FLOAT_EQ(trimmed_mean_abs_diff(outliers, torch::zeros({10}), 0.0, 1.0).item<float>(),
                    20.f);
}

TEST(LiparFilters, a_patch_counts_as_changed_only_when_14_of_its_64_values_differ) {
    torch::Tensor a = torch::zeros({3, 64});
    a[0].narrow(0, 0, 13).fill_(1.f);  // 13 changed values: all above the band
    a[1].narrow(0, 0, 14).fill_(1.f);  // 14: one enters the band
    a[2].fill_(1.f);
    const torch::Tensor d = trimmed_mean_abs_diff(a, torch::zeros({3, 64}), 0.2, 0.8);
    EXPECT_FLOAT_EQ(d[0].item<float>(), 0.f);
    EXPECT_FLOAT_EQ(d[1].item<float>(), 1.f / 39.f);
    EXPECT_FLOAT_EQ(d[2].item<float>(), 1.f);
}

TEST(LiparFilters, patchify_gathers_the_channels_of_each_2x2_patch) {
    const torch::Tensor z = torch::arange(2 * 1 * 2 * 4, torch::kFloat).view({2, 1, 2, 4});
    const torch::Tensor t = patchify_tokens(z);
    ASSERT_EQ(t.sizes(), (std::vector<int64_t>{1, 1, 2, 8}));
    // Token (0, 0, 1) covers columns 2..3 of both rows in both channels.
    EXPECT_TRUE(
        torch::equal(t[0][0][1], torch::tensor({2.f, 3.f, 6.f, 7.f, 10.f, 11.f, 14.f, 15.f})));
    EXPECT_THROW(patchify_tokens(torch::zeros({2, 1, 3, 4})), Error);
}

TEST(LiparFilters, median_removes_a_single_spike_and_keeps_constants) {
    torch::Tensor x = torch::zeros({3, 5, 5});
    x[2][2][2] = 10.f;
    EXPECT_TRUE(torch::equal(causal_median3d(x, {}), torch::zeros({3, 5, 5})));
    const torch::Tensor constant = torch::full({2, 4, 6}, 3.5f);
    EXPECT_TRUE(torch::equal(causal_median3d(constant, {}), constant));
}

TEST(LiparFilters, median_window_is_frames_f_minus_2_to_f_with_the_first_frame_replicated) {
    const torch::Tensor ones = torch::ones({4, 4});
    const torch::Tensor x = frames_of({ones * 1, ones * 5, ones * 9, ones * 2});
    const torch::Tensor out = causal_median3d(x, {});
    // f0: (1,1,1) f1: (1,1,5) f2: (1,5,9) f3: (5,9,2)
    EXPECT_TRUE(torch::equal(out, frames_of({ones * 1, ones * 1, ones * 5, ones * 5})));
    // History frames come before x[0]; only the last two are used.
    const torch::Tensor history = frames_of({ones * 100, ones * 7, ones * 8});
    EXPECT_TRUE(torch::equal(causal_median3d(frames_of({ones}), history), (ones * 7).unsqueeze(0)));
    EXPECT_TRUE(torch::equal(causal_median3d(frames_of({ones}), frames_of({ones * 8})),
                             (ones * 8).unsqueeze(0)));
}

TEST(LiparFilters, median_of_a_constant_3x3_square_drops_its_corners) {
    const torch::Tensor square = mask_from_rows({".....", ".###.", ".###.", ".###.", "....."});
    const torch::Tensor x = square.to(torch::kFloat).unsqueeze(0).repeat({3, 1, 1});
    const torch::Tensor expected = mask_from_rows({".....", "..#..", ".###.", "..#..", "....."});
    expect_mask(causal_median3d(x, {})[2] > 0.5f, expected);
}

TEST(LiparFilters, gaussian_kernel_is_the_normalised_past_half_of_a_3x3x3_gaussian) {
    const torch::Tensor k = causal_gaussian_kernel(1.5, torch::TensorOptions());
    ASSERT_EQ(k.sizes(), (std::vector<int64_t>{2, 3, 3}));
    EXPECT_NEAR(k.sum().item<double>(), 1.0, 1e-6);
    const double q = std::exp(-1.0 / (2.0 * 1.5 * 1.5));
    const double centre = 1.0 / ((1.0 + q) * (1.0 + 2.0 * q) * (1.0 + 2.0 * q));
    EXPECT_NEAR(k[1][1][1].item<double>(), centre, 1e-7);      // frame f, centre
    EXPECT_NEAR(k[1][0][1].item<double>(), centre * q, 1e-7);  // frame f, side
    EXPECT_NEAR(k[1][0][0].item<double>(), centre * q * q, 1e-7);
    EXPECT_NEAR(k[0][1][1].item<double>(), centre * q, 1e-7);  // frame f-1, centre
    EXPECT_NEAR(k[0][2][2].item<double>(), centre * q * q * q, 1e-7);
}

TEST(LiparFilters, gaussian_keeps_a_constant_map_constant) {
    const torch::Tensor x = torch::full({3, 5, 7}, 7.f);
    EXPECT_TRUE(torch::allclose(causal_gaussian3d(x, {}, 1.5), x, 0.0, 1e-5));
    EXPECT_TRUE(
        torch::allclose(causal_gaussian3d(x, torch::full({1, 5, 7}, 7.f), 1.5), x, 0.0, 1e-5));
}

TEST(LiparFilters, gaussian_impulse_spreads_to_its_own_and_the_next_frame_only) {
    torch::Tensor x = torch::zeros({3, 5, 5});
    x[1][2][2] = 1.f;
    const torch::Tensor k = causal_gaussian_kernel(1.5, torch::TensorOptions());
    const torch::Tensor out = causal_gaussian3d(x, {}, 1.5);
    EXPECT_TRUE(torch::equal(out[0], torch::zeros({5, 5})));  // no look-ahead
    EXPECT_FLOAT_EQ(out[1][2][2].item<float>(), k[1][1][1].item<float>());
    EXPECT_FLOAT_EQ(out[1][1][2].item<float>(), k[1][0][1].item<float>());
    EXPECT_FLOAT_EQ(out[2][2][2].item<float>(), k[0][1][1].item<float>());
    EXPECT_FLOAT_EQ(out[2][1][1].item<float>(), k[0][0][0].item<float>());
    EXPECT_FLOAT_EQ(out[2][0][0].item<float>(), 0.f);
    // The impulse as history reaches frame 0 through the past slice.
    const torch::Tensor from_history =
        causal_gaussian3d(torch::zeros({1, 5, 5}), x.narrow(0, 1, 1), 1.5);
    EXPECT_FLOAT_EQ(from_history[0][2][2].item<float>(), k[0][1][1].item<float>());
    // At stream start the first frame stands in for its missing predecessor.
    const torch::Tensor start = causal_gaussian3d(x.narrow(0, 1, 1), {}, 1.5);
    EXPECT_NEAR(start[0][2][2].item<float>(), k[1][1][1].item<float>() + k[0][1][1].item<float>(),
                1e-7);
}

TEST(LiparFilters, mask_median_needs_a_majority_over_space_and_time) {
    const torch::Tensor blob = mask_from_rows({".....", ".###.", ".###.", ".###.", "....."});
    const torch::Tensor none = torch::zeros({5, 5}, torch::kBool);
    torch::Tensor isolated = none.clone();
    isolated[2][2] = true;
    expect_mask(median3d_mask(frames_of({isolated, isolated, isolated}), {})[2], none);
    // A blob in one frame of three is noise; in two of three its centre survives (18 of 27).
    expect_mask(median3d_mask(frames_of({blob}), frames_of({none, none}))[0], none);
    const torch::Tensor centre = mask_from_rows({".....", ".....", "..#..", ".....", "....."});
    expect_mask(median3d_mask(frames_of({none}), frames_of({blob, blob}))[0], centre);
    // At stream start the first frame is replicated: the blob counts three times.
    const torch::Tensor plus = mask_from_rows({".....", "..#..", ".###.", "..#..", "....."});
    expect_mask(median3d_mask(frames_of({blob}), {})[0], plus);
}

TEST(LiparFilters, open_removes_an_isolated_pixel_and_keeps_a_square) {
    const torch::Tensor in = mask_from_rows({
        "#......",
        "...###.",
        "...###.",
        ".#.###.",
        ".......",
    });
    const torch::Tensor expected = mask_from_rows({
        ".......",
        "...###.",
        "...###.",
        "...###.",
        ".......",
    });
    expect_mask(open2d(in.unsqueeze(0))[0], expected);
}

TEST(LiparFilters, open_ignores_pixels_outside_the_frame) {
    // A 2x2 block in the corner survives (its erosion only sees in-frame pixels); the same
    // block inside the frame does not.
    const torch::Tensor in =
        mask_from_rows({"##.....", "##.....", ".......", "....##.", "....##.", "......."});
    const torch::Tensor expected =
        mask_from_rows({"##.....", "##.....", ".......", ".......", ".......", "......."});
    expect_mask(open2d(in.unsqueeze(0))[0], expected);
}

TEST(LiparFilters, close_fills_a_one_pixel_hole) {
    const torch::Tensor in = mask_from_rows({
        ".........",
        ".........",
        "..#####..",
        "..#####..",
        "..##.##..",
        "..#####..",
        "..#####..",
        ".........",
        ".........",
    });
    const torch::Tensor expected = mask_from_rows({
        ".........",
        ".........",
        "..#####..",
        "..#####..",
        "..#####..",
        "..#####..",
        "..#####..",
        ".........",
        ".........",
    });
    expect_mask(close2d(in.unsqueeze(0))[0], expected);
    // Pixels outside the frame are ignored, so a shape that dilates to fill the frame stays full.
    EXPECT_TRUE(close2d(in.narrow(0, 1, 7).narrow(1, 1, 7).unsqueeze(0)).all().item<bool>());
}

TEST(LiparFilters, open_and_close_work_per_frame) {
    const torch::Tensor square = mask_from_rows(
        {".......", ".......", "..###..", "..###..", "..###..", ".......", "......."});
    const torch::Tensor none = torch::zeros({7, 7}, torch::kBool);
    const torch::Tensor out = close2d(open2d(frames_of({square, none})));
    expect_mask(out[0], square);
    expect_mask(out[1], none);
}

TEST(LiparFilters, causal_dilation_marks_the_5x5_footprint_in_the_same_and_next_frame_only) {
    torch::Tensor x = torch::zeros({4, 11, 11}, torch::kBool);
    x[1].narrow(0, 4, 3).narrow(1, 4, 3).fill_(true);
    const torch::Tensor out = causal_dilate(x, {});
    torch::Tensor footprint = torch::zeros({11, 11}, torch::kBool);
    footprint.narrow(0, 2, 7).narrow(1, 2, 7).fill_(true);
    const torch::Tensor none = torch::zeros({11, 11}, torch::kBool);
    expect_mask(out[0], none);
    expect_mask(out[1], footprint);
    expect_mask(out[2], footprint);
    expect_mask(out[3], none);
    // A kept token in the history frame reaches the block's first frame.
    expect_mask(causal_dilate(torch::zeros({1, 11, 11}, torch::kBool), x.narrow(0, 1, 1))[0],
                footprint);
    // Borders do not wrap.
    torch::Tensor corner = torch::zeros({1, 6, 6}, torch::kBool);
    corner[0][0][0] = true;
    const torch::Tensor expected_corner =
        mask_from_rows({"###...", "###...", "###...", "......", "......", "......"});
    expect_mask(causal_dilate(corner, {})[0], expected_corner);
}

TEST(LiparFilters, chebyshev_distance_counts_king_moves_to_the_nearest_kept_token) {
    torch::Tensor m = torch::zeros({2, 4, 5}, torch::kBool);
    m[0][1][1] = true;
    const torch::Tensor d = chebyshev_distance(m);
    const torch::Tensor expected = torch::tensor({1.f, 1.f, 1.f, 2.f, 3.f,  //
                                                  1.f, 0.f, 1.f, 2.f, 3.f,  //
                                                  1.f, 1.f, 1.f, 2.f, 3.f,  //
                                                  2.f, 2.f, 2.f, 2.f, 3.f})
                                       .view({4, 5});
    EXPECT_TRUE(torch::equal(d[0], expected));
    EXPECT_TRUE(torch::equal(d[1], torch::full({4, 5}, 9.f)));  // nothing kept: H + W
}

TEST(LiparFilters, min_keep_ratio_grows_by_3x3_dilations_until_the_fraction_is_met) {
    torch::Tensor m = torch::zeros({5, 10, 10}, torch::kBool);
    m[0][5][5] = true;                 // 1 -> 9 -> 25 tokens: needs two steps for 20%
    m[1][0][0] = true;                 // corner: 1 -> 4 -> 9 -> 16 -> 25
    m[3].narrow(0, 0, 3).fill_(true);  // already 30%
    m[4][5][5] = true;                 // 9 tokens meet 9% exactly after one step
    const torch::Tensor out = enforce_min_keep_ratio(m, 0.2);
    torch::Tensor centre = torch::zeros({10, 10}, torch::kBool);
    centre.narrow(0, 3, 5).narrow(1, 3, 5).fill_(true);
    torch::Tensor corner = torch::zeros({10, 10}, torch::kBool);
    corner.narrow(0, 0, 5).narrow(1, 0, 5).fill_(true);
    expect_mask(out[0], centre);
    expect_mask(out[1], corner);
    expect_mask(out[2], torch::zeros({10, 10}, torch::kBool));  // nothing kept stays empty
    expect_mask(out[3], m[3]);
    torch::Tensor small = torch::zeros({10, 10}, torch::kBool);
    small.narrow(0, 4, 3).narrow(1, 4, 3).fill_(true);
    expect_mask(enforce_min_keep_ratio(m.narrow(0, 4, 1), 0.09)[0], small);
    EXPECT_TRUE(torch::equal(enforce_min_keep_ratio(m, 0.0), m));
    EXPECT_TRUE(enforce_min_keep_ratio(m.narrow(0, 0, 1), 1.0).all().item<bool>());
    EXPECT_THROW(enforce_min_keep_ratio(m, 1.5), Error);
}

TEST(LiparFilters, reference_refresh_takes_the_last_kept_frame_per_location) {
    // tokens [3 frames, 1 x 3 grid, 1 value] = frame index + 10 * column.
    const torch::Tensor tokens =
        (torch::arange(3).view({3, 1, 1, 1}) + 10 * torch::arange(3).view({1, 1, 3, 1}))
            .to(torch::kFloat);
    const torch::Tensor keep = torch::tensor({true, true, false,    // frame 0
                                              false, true, false,   // frame 1
                                              true, false, false})  // frame 2
                                   .view({3, 1, 3});
    const torch::Tensor old = torch::full({1, 3, 1}, -1.f);
    EXPECT_TRUE(torch::equal(refresh_reference(old, tokens, keep).flatten(),
                             torch::tensor({2.f, 11.f, -1.f})));
    // Without a reference, locations never kept take frame 0's values.
    EXPECT_TRUE(torch::equal(refresh_reference({}, tokens, keep).flatten(),
                             torch::tensor({2.f, 11.f, 20.f})));
}

TEST(LiparFilters, fixed_order_sum_matches_a_plain_sum) {
    const torch::Tensor x = torch::arange(2 * 39, torch::kFloat).view({2, 39});
    EXPECT_TRUE(torch::equal(fixed_order_sum_last_dim(x), x.sum(-1)));
    EXPECT_TRUE(torch::equal(fixed_order_sum_last_dim(torch::ones({3, 1})), torch::ones({3})));
}

}  // namespace
}  // namespace lipar::accel
