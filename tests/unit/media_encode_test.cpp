// Encoding through FFmpeg: round trips, fragmented-MP4 crash safety, audio copy, errors.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "media/convert.h"
#include "media/video_sink.h"
#include "media/video_source.h"
#include "media_test_util.h"

#ifdef LIPAR_HAVE_FFMPEG
#include "media/ffmpeg/ffmpeg_encoder.h"
#endif

namespace lipar::media {
namespace {

using test::clip_path;
using test::synthetic_frame;
using test::TempDir;

#ifndef LIPAR_HAVE_FFMPEG
#define REQUIRE_FFMPEG() GTEST_SKIP() << "built without FFmpeg"
#else
#define REQUIRE_FFMPEG() (void)0
#endif

void expect_round_trip(const std::string& path, const std::string& codec) {
    constexpr int kW = 160, kH = 96, kN = 30;
    std::vector<Frame> originals;
    {
        EncodeOptions options;
        options.fps = 30;
        options.codec = codec;
        auto sink = open_video_sink(path, options);
        for (int t = 0; t < kN; ++t) {
            originals.push_back(synthetic_frame(kW, kH, t));
            sink->write(originals.back());
        }
        EXPECT_EQ(sink->frames_written(), kN);
        sink->close();
        sink->close();  // idempotent
    }
    auto source = open_video(path);
    EXPECT_EQ(source->info().width, kW);
    EXPECT_EQ(source->info().height, kH);
    EXPECT_NEAR(source->info().fps, 30.0, 1e-6);
    Frame frame;
    int n = 0;
    double worst = 1e9;
    while (source->read(frame)) {
        ASSERT_LT(n, kN) << path;
        ASSERT_EQ(frame.width, kW);
        ASSERT_EQ(frame.height, kH);
        worst = std::min(worst, psnr_db(frame, originals[static_cast<size_t>(n)]));
        ++n;
    }
    EXPECT_EQ(n, kN) << path;
    EXPECT_GT(worst, 30.0) << path << " codec " << codec;
}

TEST(MediaEncode, mp4_round_trip_keeps_count_size_and_quality) {
    REQUIRE_FFMPEG();
    TempDir dir;
    expect_round_trip(dir.file("rt.mp4"), "auto");
}

TEST(MediaEncode, mkv_round_trip_keeps_count_size_and_quality) {
    REQUIRE_FFMPEG();
    TempDir dir;
    expect_round_trip(dir.file("rt.mkv"), "auto");
}

TEST(MediaEncode, mpeg4_fallback_round_trip_keeps_count_size_and_quality) {
    REQUIRE_FFMPEG();
    TempDir dir;
    expect_round_trip(dir.file("rt_mpeg4.mp4"), "mpeg4");
}

TEST(MediaEncode, auto_codec_prefers_h264) {
    REQUIRE_FFMPEG();
#ifdef LIPAR_HAVE_FFMPEG
    TempDir dir;
    const std::string path = dir.file("auto.mkv");
    {
        auto sink = open_video_sink(path, EncodeOptions{});
        sink->write(synthetic_frame(64, 48, 0));
    }  // destructor finishes the file
    auto source = open_video(path);
    EXPECT_EQ(source->info().codec, default_video_encoder() == "libx264" ? "h264" : "mpeg4");
    Frame frame;
    EXPECT_TRUE(source->read(frame));
#endif
}

TEST(MediaEncode, destroying_a_sink_without_close_still_finishes_the_file) {
    REQUIRE_FFMPEG();
    TempDir dir;
    const std::string path = dir.file("no_close.mp4");
    {
        EncodeOptions options;
        options.fps = 25;
        auto sink = open_video_sink(path, options);
        for (int t = 0; t < 12; ++t) {
            sink->write(synthetic_frame(64, 64, t));
        }
    }
    EXPECT_EQ(read_video_frames(path).size(), 12u);
}

TEST(MediaEncode, killed_recording_keeps_its_completed_fragments) {
    REQUIRE_FFMPEG();
    TempDir dir;
    const std::string path = dir.file("killed.mp4");
    constexpr int kFps = 10;
    constexpr int kWrittenBeforeKill = 45;  // 4.5 s: keyframes (fragments) at 0, 1, 2, 3, 4 s
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // Child: record, then die abruptly without close() or destructors.
        try {
            EncodeOptions options;
            options.fps = kFps;
            auto sink = open_video_sink(path, options);
            for (int t = 0; t < kWrittenBeforeKill; ++t) {
                sink->write(synthetic_frame(128, 96, t));
            }
            ::raise(SIGKILL);
        } catch (...) {
        }
        ::_exit(3);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    auto frames = read_video_frames(path);
    // At least the fragments closed by a later keyframe: the encoder may still hold the last
    // frames (lookahead), so expect a whole number of seconds, at least two of them.
    EXPECT_GE(frames.size(), 2u * kFps);
    EXPECT_LE(frames.size(), static_cast<size_t>(kWrittenBeforeKill));
    for (size_t i = 0; i < frames.size(); ++i) {
        ASSERT_GT(psnr_db(frames[i], synthetic_frame(128, 96, static_cast<int>(i))), 28.0) << i;
    }
}

TEST(MediaEncode, audio_from_a_clip_is_copied_and_trimmed_to_the_video) {
    REQUIRE_FFMPEG();
    TempDir dir;
    for (const char* ext : {".mp4", ".mkv"}) {
        const std::string path = dir.file(std::string("with_audio") + ext);
        {
            EncodeOptions options;
            options.fps = 25;
            options.audio_from = clip_path("chaplin.mp4");
            auto sink = open_video_sink(path, options);
            for (int t = 0; t < 50; ++t) {
                sink->write(synthetic_frame(96, 64, t));
            }
            sink->close();
        }
        auto source = open_video(path);
        EXPECT_TRUE(source->info().has_audio) << ext;
        EXPECT_NEAR(source->info().duration_s, 2.0, 0.15) << ext;
        EXPECT_EQ(read_video_frames(path).size(), 50u) << ext;
    }
}

TEST(MediaEncode, audio_from_a_silent_clip_gives_a_video_only_file) {
    REQUIRE_FFMPEG();
    TempDir dir;
    const std::string path = dir.file("silent.mp4");
    {
        EncodeOptions options;
        options.audio_from = clip_path("dog_grass_832x480.mp4");
        auto sink = open_video_sink(path, options);
        sink->write(synthetic_frame(64, 64, 0));
    }
    EXPECT_FALSE(open_video(path)->info().has_audio);
}

TEST(MediaEncode, odd_sizes_are_encodable) {
    REQUIRE_FFMPEG();
    TempDir dir;
    const std::string path = dir.file("odd.mkv");
    {
        auto sink = open_video_sink(path, EncodeOptions{});
        for (int t = 0; t < 3; ++t) {
            sink->write(synthetic_frame(101, 75, t));
        }
    }
    auto frames = read_video_frames(path);
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[0].width, 102);
    EXPECT_EQ(frames[0].height, 76);
}

TEST(MediaEncode, wrong_frame_size_and_unknown_codec_are_clean_errors) {
    REQUIRE_FFMPEG();
    TempDir dir;
    EncodeOptions options;
    options.width = 64;
    options.height = 64;
    auto sink = open_video_sink(dir.file("size.mkv"), options);
    try {
        sink->write(synthetic_frame(32, 32, 0));
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("32x32"), std::string::npos);
    }
    sink->close();
    options.codec = "no_such_codec";
    try {
        open_video_sink(dir.file("codec.mkv"), options);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::Unsupported);
        EXPECT_NE(std::string(e.what()).find("no_such_codec"), std::string::npos);
    }
    try {
        open_video_sink("/nonexistent/dir/out.mp4", options = EncodeOptions{64, 64});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::IoError);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/out.mp4"), std::string::npos);
    }
}

TEST(MediaEncode, transcoding_a_real_clip_preserves_its_pictures) {
    REQUIRE_FFMPEG();
    TempDir dir;
    const std::string path = dir.file("chaplin_copy.mp4");
    auto originals = read_video_frames(clip_path("chaplin.mp4"), 25);
    ASSERT_EQ(originals.size(), 25u);
    {
        EncodeOptions options;
        options.fps = 25;
        options.crf_or_quality = 18;
        auto sink = open_video_sink(path, options);
        for (const Frame& f : originals) {
            sink->write(f);
        }
    }
    auto copies = read_video_frames(path);
    ASSERT_EQ(copies.size(), 25u);
    for (size_t i = 0; i < copies.size(); ++i) {
        EXPECT_GT(psnr_db(copies[i], originals[i]), 32.0) << i;
    }
}

}  // namespace
}  // namespace lipar::media
