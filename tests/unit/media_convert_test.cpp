// Pixel conversion, resampling, fitting and model sizes (no FFmpeg needed).

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "media/convert.h"
#include "media_test_util.h"

namespace lipar::media {
namespace {

Frame solid(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
    Frame f;
    f.resize(w, h);
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            uint8_t* p = f.pixel(x, y);
            p[0] = r;
            p[1] = g;
            p[2] = b;
        }
    }
    return f;
}

struct Yuv420 {
    int w, h;
    std::vector<uint8_t> y, u, v;
    explicit Yuv420(int width, int height)
        : w(width),
          h(height),
          y(static_cast<size_t>(width) * height),
          u(static_cast<size_t>(chroma_extent(width)) * chroma_extent(height)),
          v(u.size()) {}
    MutableYuvPlanes mut() { return {y.data(), u.data(), v.data(), w, chroma_extent(w)}; }
    YuvPlanes planes() const { return {y.data(), u.data(), v.data(), w, chroma_extent(w)}; }
};

TEST(MediaConvert, parse_fit_mode_accepts_the_three_modes) {
    EXPECT_EQ(parse_fit_mode("crop"), FitMode::Crop);
    EXPECT_EQ(parse_fit_mode("PAD"), FitMode::Pad);
    EXPECT_EQ(parse_fit_mode("Stretch"), FitMode::Stretch);
    EXPECT_EQ(parse_fit_mode("zoom"), FitMode::Invalid);
    EXPECT_STREQ(fit_mode_name(FitMode::Pad), "pad");
}

TEST(MediaConvert, studio_range_colours_match_the_standard_tables) {
    // BT.601: red -> (81, 90, 240), white -> (235, 128, 128), black -> (16, 128, 128).
    Frame red = solid(2, 2, 255, 0, 0);
    Yuv420 yuv(2, 2);
    rgb_to_yuv420p(red, yuv.mut(), YuvMatrix::Bt601, YuvRange::Limited);
    EXPECT_EQ(yuv.y[0], 81);
    EXPECT_EQ(yuv.u[0], 90);
    EXPECT_EQ(yuv.v[0], 240);
    rgb_to_yuv420p(red, yuv.mut(), YuvMatrix::Bt709, YuvRange::Limited);
    EXPECT_EQ(yuv.y[0], 63);
    EXPECT_EQ(yuv.u[0], 102);
    EXPECT_EQ(yuv.v[0], 240);
    rgb_to_yuv420p(solid(2, 2, 255, 255, 255), yuv.mut(), YuvMatrix::Bt601, YuvRange::Limited);
    EXPECT_EQ(yuv.y[3], 235);
    EXPECT_EQ(yuv.u[0], 128);
    rgb_to_yuv420p(solid(2, 2, 0, 0, 0), yuv.mut(), YuvMatrix::Bt709, YuvRange::Full);
    EXPECT_EQ(yuv.y[0], 0);
    EXPECT_EQ(yuv.v[0], 128);
}

TEST(MediaConvert, yuv420_round_trip_of_smooth_and_odd_sized_pictures_is_accurate) {
    for (auto [w, h] : {std::pair{64, 48}, std::pair{33, 17}}) {
        for (YuvMatrix m : {YuvMatrix::Bt601, YuvMatrix::Bt709}) {
            for (YuvRange r : {YuvRange::Limited, YuvRange::Full}) {
                Frame src = test::synthetic_frame(w, h, 0);
                Yuv420 yuv(w, h);
                rgb_to_yuv420p(src, yuv.mut(), m, r);
                Frame back;
                yuv420p_to_rgb(yuv.planes(), w, h, m, r, back);
                ASSERT_EQ(back.width, w);
                ASSERT_EQ(back.height, h);
                // The moving square's hard edges lose some chroma; the rest is exact to ~1 LSB.
                EXPECT_GT(psnr_db(src, back), 30.0) << w << "x" << h;
                Frame grey = solid(w, h, 90, 140, 200);
                rgb_to_yuv420p(grey, yuv.mut(), m, r);
                yuv420p_to_rgb(yuv.planes(), w, h, m, r, back);
                for (size_t i = 0; i < back.rgb.size(); ++i) {
                    ASSERT_NEAR(back.rgb[i], grey.rgb[i], 2) << "byte " << i;
                }
            }
        }
    }
}

TEST(MediaConvert, yuv444_round_trip_is_near_lossless) {
    Frame src = test::synthetic_frame(40, 30, 5);
    std::vector<uint8_t> y(40 * 30), u(40 * 30), v(40 * 30);
    rgb_to_yuv444p(src, {y.data(), u.data(), v.data(), 40, 40}, YuvMatrix::Bt709, YuvRange::Full);
    Frame back;
    yuv444p_to_rgb({y.data(), u.data(), v.data(), 40, 40}, 40, 30, YuvMatrix::Bt709, YuvRange::Full,
                   back);
    EXPECT_GT(psnr_db(src, back), 45.0);
}

TEST(MediaConvert, resize_keeps_flat_colour_and_averages_a_checkerboard_when_shrinking) {
    Frame flat = solid(37, 23, 10, 200, 99);
    Frame big = resize_bilinear(flat, 80, 50);
    for (size_t i = 0; i < big.rgb.size(); i += 3) {
        ASSERT_EQ(big.rgb[i], 10);
        ASSERT_EQ(big.rgb[i + 1], 200);
        ASSERT_EQ(big.rgb[i + 2], 99);
    }
    Frame checker;
    checker.resize(64, 64);
    for (int y = 0; y < 64; ++y) {
        for (int x = 0; x < 64; ++x) {
            const uint8_t c = ((x + y) & 1) ? 255 : 0;
            std::fill_n(checker.pixel(x, y), 3, c);
        }
    }
    Frame small = resize_bilinear(checker, 16, 16);
    for (int y = 1; y < 15; ++y) {
        for (int x = 1; x < 15; ++x) {
            EXPECT_NEAR(small.pixel(x, y)[0], 128, 2) << x << "," << y;
        }
    }
}

TEST(MediaConvert, resize_upscale_interpolates_between_samples) {
    Frame two;
    two.resize(2, 1);
    std::fill_n(two.pixel(0, 0), 3, 0);
    std::fill_n(two.pixel(1, 0), 3, 200);
    Frame four = resize_bilinear(two, 4, 1);
    // Centre-aligned: outputs sit at source positions 0.25, 0.75, 1.25, 1.75 -> 0, 50, 150, 200.
    EXPECT_EQ(four.pixel(0, 0)[0], 0);
    EXPECT_EQ(four.pixel(1, 0)[0], 50);
    EXPECT_EQ(four.pixel(2, 0)[0], 150);
    EXPECT_EQ(four.pixel(3, 0)[0], 200);
    EXPECT_THROW(resize_bilinear(two, 0, 4), Error);
    EXPECT_THROW(resize_bilinear(Frame{}, 4, 4), Error);
}

// A 200x100 frame: red left quarter, green middle half, blue right quarter.
Frame three_bands() {
    Frame f = solid(200, 100, 0, 255, 0);
    for (int y = 0; y < 100; ++y) {
        for (int x = 0; x < 50; ++x) {
            uint8_t* p = f.pixel(x, y);
            p[0] = 255, p[1] = 0, p[2] = 0;
            p = f.pixel(199 - x, y);
            p[0] = 0, p[1] = 0, p[2] = 255;
        }
    }
    f.index = 7;
    return f;
}

TEST(MediaConvert, fit_crop_keeps_the_centre_and_drops_the_sides) {
    Frame out = fit_frame(three_bands(), 100, 100, FitMode::Crop);
    ASSERT_EQ(out.width, 100);
    ASSERT_EQ(out.height, 100);
    EXPECT_EQ(out.index, 7);
    for (int x : {0, 50, 99}) {
        EXPECT_EQ(out.pixel(x, 50)[1], 255) << x;  // all green: the bands were cropped away
        EXPECT_EQ(out.pixel(x, 50)[0], 0) << x;
    }
}

TEST(MediaConvert, fit_pad_letterboxes_with_black_bars) {
    Frame out = fit_frame(three_bands(), 100, 100, FitMode::Pad);
    ASSERT_EQ(out.height, 100);
    // Scaled to 100x50, centred: rows 0..24 and 75..99 black.
    for (int y : {0, 24, 75, 99}) {
        EXPECT_EQ(out.pixel(50, y)[0] + out.pixel(50, y)[1] + out.pixel(50, y)[2], 0) << y;
    }
    EXPECT_EQ(out.pixel(5, 50)[0], 255);   // red band
    EXPECT_EQ(out.pixel(50, 50)[1], 255);  // green
    EXPECT_EQ(out.pixel(95, 50)[2], 255);  // blue
}

TEST(MediaConvert, fit_stretch_keeps_all_bands) {
    Frame out = fit_frame(three_bands(), 100, 100, FitMode::Stretch);
    EXPECT_EQ(out.pixel(5, 10)[0], 255);
    EXPECT_EQ(out.pixel(95, 90)[2], 255);
    EXPECT_THROW(fit_frame(three_bands(), 100, 100, FitMode::Invalid), Error);
}

TEST(MediaConvert, model_size_is_a_multiple_of_16_within_budget_near_the_aspect) {
    EXPECT_EQ(model_size_for(832, 480, 16, 832 * 480), std::make_pair(832, 480));
    EXPECT_EQ(model_size_for(480, 832, 16, 832 * 480), std::make_pair(480, 832));
    EXPECT_EQ(model_size_for(1280, 720, 16, 832 * 480), std::make_pair(832, 464));
    EXPECT_EQ(model_size_for(10, 10, 16, 832 * 480), std::make_pair(16, 16));
    for (auto [w, h] : {std::pair{1920, 1080}, std::pair{640, 360}, std::pair{320, 240},
                        std::pair{1080, 1920}, std::pair{4000, 1000}, std::pair{123, 457}}) {
        const auto [mw, mh] = model_size_for(w, h, 16, 832 * 480);
        EXPECT_EQ(mw % 16, 0);
        EXPECT_EQ(mh % 16, 0);
        EXPECT_LE(mw * mh, 832 * 480);
        EXPECT_LE(mw, (w + 15) / 16 * 16) << "no up-scaling";
        const double aspect_error = std::abs(std::log((double(mw) / mh) / (double(w) / h)));
        EXPECT_LT(aspect_error, 0.06) << w << "x" << h << " -> " << mw << "x" << mh;
    }
    EXPECT_THROW(model_size_for(0, 480, 16, 1000), Error);
}

TEST(MediaConvert, psnr_is_infinite_for_identical_frames_and_rejects_size_mismatch) {
    Frame a = solid(4, 4, 1, 2, 3);
    EXPECT_TRUE(std::isinf(psnr_db(a, a)));
    Frame b = a;
    b.rgb[0] = 11;  // one byte off by 10 of 48: MSE 100/48
    EXPECT_NEAR(psnr_db(a, b), 10 * std::log10(255.0 * 255.0 * 48 / 100), 1e-9);
    EXPECT_THROW(psnr_db(a, solid(2, 2, 0, 0, 0)), Error);
}

}  // namespace
}  // namespace lipar::media
