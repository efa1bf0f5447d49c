// FFmpeg file decoding against the real clips in ../shared/data/clips; frame counts were measured
// with `ffprobe -count_frames` (tree.avi: 444 frame slots in its index, 68 coded pictures).

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "media/convert.h"
#include "media/video_sink.h"
#include "media/video_source.h"
#include "media_test_util.h"

namespace lipar::media {
namespace {

using test::clip_path;

#ifndef LIPAR_HAVE_FFMPEG
#define REQUIRE_FFMPEG() GTEST_SKIP() << "built without FFmpeg"
#else
#define REQUIRE_FFMPEG() (void)0
#endif

struct ClipFacts {
    const char* name;
    int width, height;
    int64_t frames;
    double fps;
    const char* codec;
};

// Counts frames through the real read() path and checks every frame's size and index.
void expect_clip_decodes(const ClipFacts& c) {
    auto source = open_video(clip_path(c.name));
    const VideoInfo& info = source->info();
    EXPECT_EQ(info.width, c.width) << c.name;
    EXPECT_EQ(info.height, c.height) << c.name;
    EXPECT_NEAR(info.fps, c.fps, 1e-3) << c.name;
    EXPECT_EQ(info.codec, c.codec) << c.name;
    EXPECT_EQ(info.frame_count, c.frames) << c.name;
    Frame frame;
    int64_t n = 0;
    while (source->read(frame)) {
        ASSERT_EQ(frame.width, c.width) << c.name;
        ASSERT_EQ(frame.height, c.height) << c.name;
        ASSERT_EQ(frame.rgb.size(), frame.byte_size()) << c.name;
        ASSERT_EQ(frame.index, n) << c.name;
        ++n;
    }
    EXPECT_EQ(n, c.frames) << c.name;
    EXPECT_FALSE(source->read(frame)) << "end of stream must stay at the end";
}

double mean_abs_diff(const Frame& a, const Frame& b) {
    EXPECT_EQ(a.rgb.size(), b.rgb.size());
    double sum = 0;
    for (size_t i = 0; i < a.rgb.size(); ++i) {
        sum += std::abs(static_cast<int>(a.rgb[i]) - static_cast<int>(b.rgb[i]));
    }
    return sum / static_cast<double>(a.rgb.size());
}

TEST(MediaDecode, dog_grass_decodes_81_frames_at_832x480) {
    REQUIRE_FFMPEG();
    expect_clip_decodes({"dog_grass_832x480.mp4", 832, 480, 81, 16.0, "h264"});
}

TEST(MediaDecode, chaplin_decodes_241_frames_at_640x360) {
    REQUIRE_FFMPEG();
    expect_clip_decodes({"chaplin.mp4", 640, 360, 241, 25.0, "h264"});
}

TEST(MediaDecode, tree_avi_fills_empty_cinepak_slots_to_444_frames) {
    REQUIRE_FFMPEG();
    expect_clip_decodes({"tree.avi", 320, 240, 444, 1000000.0 / 66667.0, "cinepak"});
}

TEST(MediaDecode, hd_clips_decode_with_their_exact_frame_counts) {
    REQUIRE_FFMPEG();
    expect_clip_decodes({"bbb_0_30.webm", 1280, 720, 720, 24.0, "vp8"});
    expect_clip_decodes({"dog.mp4", 1280, 720, 289, 30000.0 / 1001.0, "h264"});
    expect_clip_decodes({"cups.mp4", 1280, 720, 300, 30000.0 / 1001.0, "h264"});
    expect_clip_decodes({"blocks.mp4", 1280, 720, 292, 30000.0 / 1001.0, "h264"});
}

TEST(MediaDecode, info_reports_container_duration_and_audio) {
    REQUIRE_FFMPEG();
    auto chaplin = open_video(clip_path("chaplin.mp4"));
    EXPECT_TRUE(chaplin->info().has_audio);
    EXPECT_NE(chaplin->info().container.find("mp4"), std::string::npos);
    EXPECT_NEAR(chaplin->info().duration_s, 241 / 25.0, 0.05);
    auto dog = open_video(clip_path("dog_grass_832x480.mp4"));
    EXPECT_FALSE(dog->info().has_audio);
    auto bbb = open_video(clip_path("bbb_0_30.webm"));
    EXPECT_NE(bbb->info().container.find("webm"), std::string::npos);
    EXPECT_TRUE(bbb->info().has_audio);
}

TEST(MediaDecode, decoded_pixels_are_a_real_picture_not_noise_or_black) {
    REQUIRE_FFMPEG();
    auto frames = read_video_frames(clip_path("dog_grass_832x480.mp4"), 2);
    ASSERT_EQ(frames.size(), 2u);
    // A real grass scene: mid-range brightness, neighbouring pixels strongly correlated, and
    // consecutive frames similar but not identical (the camera moves).
    const Frame& f = frames[0];
    double mean = 0, neighbour = 0;
    for (int y = 0; y < f.height; ++y) {
        for (int x = 0; x + 1 < f.width; ++x) {
            mean += f.pixel(x, y)[1];
            neighbour += std::abs(f.pixel(x, y)[1] - f.pixel(x + 1, y)[1]);
        }
    }
    mean /= static_cast<double>(f.height) * (f.width - 1);
    neighbour /= static_cast<double>(f.height) * (f.width - 1);
    EXPECT_GT(mean, 30.0);
    EXPECT_LT(mean, 225.0);
    EXPECT_LT(neighbour, 20.0);
    const double step = mean_abs_diff(frames[0], frames[1]);
    EXPECT_GT(step, 0.5);
    EXPECT_LT(step, 40.0);
    EXPECT_DOUBLE_EQ(frames[1].pts_s, 1.0 / 16.0);
}

TEST(MediaDecode, decoder_matches_ffmpeg_cli_reference_colours) {
    REQUIRE_FFMPEG();
    // Compare against the frame the ffmpeg tool produces: both decode the same H.264 bitstream,
    // so only the YUV->RGB conversion could differ (matrix, range, chroma filter); with the same
    // swscale path they agree exactly, other FFmpeg versions may round differently.
    auto frames = read_video_frames(clip_path("chaplin.mp4"), 1);
    ASSERT_EQ(frames.size(), 1u);
    auto reference = test::decode_with_ffmpeg_cli(clip_path("chaplin.mp4"), 640, 360, 1);
    if (reference.empty()) {
        GTEST_SKIP() << "ffmpeg command line tool not available";
    }
    EXPECT_GT(psnr_db(frames[0], reference[0]), 40.0);
}

TEST(MediaDecode, seek_lands_on_the_exact_frame) {
    REQUIRE_FFMPEG();
    const std::string path = clip_path("chaplin.mp4");
    auto all = read_video_frames(path);
    ASSERT_EQ(all.size(), 241u);
    auto source = open_video(path);
    Frame frame;
    for (int64_t target : {200, 37, 0, 240, 123, 124, 1}) {
        source->seek(target);
        ASSERT_TRUE(source->read(frame)) << target;
        EXPECT_EQ(frame.index, target);
        EXPECT_EQ(frame.rgb, all[static_cast<size_t>(target)].rgb) << "frame " << target;
        ASSERT_TRUE(source->read(frame) || target == 240);
        if (target < 240) {
            EXPECT_EQ(frame.rgb, all[static_cast<size_t>(target + 1)].rgb) << target + 1;
        }
    }
    source->seek(241);
    EXPECT_FALSE(source->read(frame));
}

TEST(MediaDecode, seek_into_a_gap_of_a_sparse_avi_returns_the_held_picture) {
    REQUIRE_FFMPEG();
    const std::string path = clip_path("tree.avi");
    auto all = read_video_frames(path);
    ASSERT_EQ(all.size(), 444u);
    // Slots 1..10 repeat picture 0 (the next coded picture is at slot 11).
    EXPECT_EQ(all[5].rgb, all[0].rgb);
    EXPECT_NE(all[11].rgb, all[10].rgb);
    auto source = open_video(path);
    Frame frame;
    for (int64_t target : {300, 5, 11, 443, 170}) {
        source->seek(target);
        ASSERT_TRUE(source->read(frame)) << target;
        EXPECT_EQ(frame.index, target);
        EXPECT_EQ(frame.rgb, all[static_cast<size_t>(target)].rgb) << "frame " << target;
    }
}

TEST(MediaDecode, looping_source_rewinds_and_keeps_counting) {
    REQUIRE_FFMPEG();
    LoopingSource source(open_video(clip_path("dog_grass_832x480.mp4")));
    Frame first, frame;
    ASSERT_TRUE(source.read(first));
    for (int i = 1; i < 81; ++i) {
        ASSERT_TRUE(source.read(frame));
    }
    EXPECT_EQ(source.loops(), 0);
    ASSERT_TRUE(source.read(frame));
    EXPECT_EQ(source.loops(), 1);
    EXPECT_EQ(frame.index, 81);
    EXPECT_EQ(frame.rgb, first.rgb);
}

TEST(MediaDecode, read_video_frames_honours_max_frames) {
    REQUIRE_FFMPEG();
    EXPECT_EQ(read_video_frames(clip_path("chaplin.mp4"), 5).size(), 5u);
    EXPECT_EQ(read_video_frames(clip_path("chaplin.mp4"), 0).size(), 0u);
}

TEST(MediaDecode, missing_file_is_not_found_with_the_path) {
    try {
        open_video("/nonexistent/dir/clip.mp4");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::NotFound);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/clip.mp4"), std::string::npos);
    }
}

TEST(MediaDecode, builds_without_ffmpeg_refuse_encoded_files_with_a_hint) {
#ifdef LIPAR_HAVE_FFMPEG
    GTEST_SKIP() << "built with FFmpeg";
#else
    try {
        open_video(clip_path("chaplin.mp4"));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::Unsupported);
        EXPECT_NE(std::string(e.what()).find(".y4m"), std::string::npos) << e.what();
    }
    EXPECT_THROW(open_video_sink("/tmp/never.mp4", EncodeOptions{}), Error);
#endif
}

}  // namespace
}  // namespace lipar::media
