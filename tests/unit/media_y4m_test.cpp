// YUV4MPEG2: the dependency-free path (written and read without FFmpeg), cross-checked against
// FFmpeg where the build has it.

#include <gtest/gtest.h>

#include "core/error.h"
#include "media/convert.h"
#include "media/video_sink.h"
#include "media/video_source.h"
#include "media/y4m.h"
#include "media_test_util.h"

namespace lipar::media {
namespace {

using test::clip_path;
using test::synthetic_frame;
using test::TempDir;

std::string y4m_bytes(const std::string& header, int frames, size_t payload, bool truncate_last) {
    std::string s = header + "\n";
    for (int i = 0; i < frames; ++i) {
        s += "FRAME\n";
        std::string body(payload, static_cast<char>(16 + i * 20));
        if (truncate_last && i == frames - 1) {
            body.resize(payload / 2);
        }
        s += body;
    }
    return s;
}

StatusCode open_error(const std::string& path) {
    try {
        open_video(path);
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        return e.code();
    }
    return StatusCode::Ok;
}

TEST(MediaY4m, writer_and_reader_round_trip_without_ffmpeg) {
    TempDir dir;
    const std::string path = dir.file("rt.y4m");
    std::vector<Frame> originals;
    {
        EncodeOptions options;
        options.fps = 30000.0 / 1001.0;
        auto sink = open_video_sink(path, options);
        for (int t = 0; t < 30; ++t) {
            originals.push_back(synthetic_frame(66, 38, t));
            sink->write(originals.back());
        }
        EXPECT_EQ(sink->frames_written(), 30);
    }
    Y4mReader reader(path);
    EXPECT_EQ(reader.header().fps_num, 30000);
    EXPECT_EQ(reader.header().fps_den, 1001);
    EXPECT_EQ(reader.info().frame_count, 30);
    EXPECT_EQ(reader.info().width, 66);
    EXPECT_EQ(reader.info().height, 38);
    Frame frame;
    int n = 0;
    while (reader.read(frame)) {
        ASSERT_LT(n, 30);
        EXPECT_EQ(frame.index, n);
        EXPECT_GT(psnr_db(frame, originals[static_cast<size_t>(n)]), 30.0) << n;
        ++n;
    }
    EXPECT_EQ(n, 30);
    reader.seek(17);
    ASSERT_TRUE(reader.read(frame));
    EXPECT_EQ(frame.index, 17);
    EXPECT_GT(psnr_db(frame, originals[17]), 30.0);
    reader.seek(30);
    EXPECT_FALSE(reader.read(frame));
}

TEST(MediaY4m, c444_and_full_range_headers_are_honoured) {
    TempDir dir;
    const std::string path = dir.file("c444.y4m");
    // One 2x2 frame, 4:4:4 full range: Y=255 U=V=128 is white, Y=0 is black.
    std::string s = "YUV4MPEG2 W2 H2 F25:1 Ip C444 XCOLORRANGE=FULL\nFRAME\n";
    s += std::string("\xff\x00\xff\x00", 4) + std::string(8, '\x80');
    test::write_bytes(path, s.data(), s.size());
    auto source = open_video(path);
    Frame f;
    ASSERT_TRUE(source->read(f));
    EXPECT_EQ(f.pixel(0, 0)[0], 255);
    EXPECT_EQ(f.pixel(1, 0)[1], 0);
    EXPECT_FALSE(source->read(f));
}

TEST(MediaY4m, malformed_headers_give_format_or_unsupported_errors) {
    TempDir dir;
    const std::pair<const char*, StatusCode> cases[] = {
        {"YUV4MPEG2 H2 F25:1", StatusCode::FormatError},             // no width
        {"YUV4MPEG2 W2 H2 F25:0", StatusCode::FormatError},          // zero denominator
        {"YUV4MPEG2 W-4 H2 F25:1", StatusCode::FormatError},         // negative width
        {"YUV4MPEG2 W99999 H2 F25:1", StatusCode::FormatError},      // absurd width
        {"YUV4MPEG2 W2x H2 F25:1", StatusCode::FormatError},         // junk in a number
        {"YUV4MPEG2 W2 H2 F25:1 C420p10", StatusCode::Unsupported},  // 10-bit
        {"YUV4MPEG2 W2 H2 F25:1 Cmono", StatusCode::Unsupported},
        {"YUV4MPEG W2 H2 F25:1", StatusCode::FormatError},  // wrong magic
    };
    int i = 0;
    for (const auto& [header, code] : cases) {
        const std::string path = dir.file("bad" + std::to_string(i++) + ".y4m");
        const std::string bytes = y4m_bytes(header, 1, 6, false);
        test::write_bytes(path, bytes.data(), bytes.size());
        EXPECT_EQ(open_error(path), code) << header;
    }
    // A header line that never ends.
    const std::string endless = dir.file("endless.y4m");
    const std::string junk = "YUV4MPEG2 " + std::string(10000, 'X');
    test::write_bytes(endless, junk.data(), junk.size());
    EXPECT_EQ(open_error(endless), StatusCode::FormatError);
}

TEST(MediaY4m, truncated_frame_and_missing_frame_marker_are_format_errors) {
    TempDir dir;
    const std::string path = dir.file("trunc.y4m");
    const std::string bytes = y4m_bytes("YUV4MPEG2 W4 H2 F25:1", 3, 12, true);
    test::write_bytes(path, bytes.data(), bytes.size());
    auto source = open_video(path);
    EXPECT_EQ(source->info().frame_count, 2);
    Frame f;
    ASSERT_TRUE(source->read(f));
    ASSERT_TRUE(source->read(f));
    try {
        source->read(f);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::FormatError);
        EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
    const std::string bad_marker = dir.file("marker.y4m");
    std::string b = y4m_bytes("YUV4MPEG2 W4 H2 F25:1", 2, 12, false);
    b.replace(b.rfind("FRAME"), 5, "FRAXE");
    test::write_bytes(bad_marker, b.data(), b.size());
    auto second = open_video(bad_marker);
    ASSERT_TRUE(second->read(f));
    EXPECT_THROW(second->read(f), Error);
}

TEST(MediaY4m, frame_headers_with_parameters_are_read_and_seekable) {
    TempDir dir;
    const std::string path = dir.file("params.y4m");
    std::string s = "YUV4MPEG2 W2 H2 F10:1 C420jpeg\n";
    for (int i = 0; i < 5; ++i) {
        s += i % 2 ? "FRAME Ip XFOO=1\n" : "FRAME\n";
        s += std::string(4, static_cast<char>(40 + 40 * i)) + std::string(2, '\x80');
    }
    test::write_bytes(path, s.data(), s.size());
    auto source = open_video(path);
    Frame f;
    int n = 0;
    while (source->read(f)) {
        ++n;
    }
    EXPECT_EQ(n, 5);
    for (int target : {3, 1, 4, 0}) {
        source->seek(target);
        ASSERT_TRUE(source->read(f)) << target;
        EXPECT_EQ(f.index, target);
        // Grey levels rise with the frame number: Y = 40 + 40 i (limited range, so scaled).
        const int expected = static_cast<int>(std::lround((40 + 40 * target - 16) * 255.0 / 219));
        EXPECT_NEAR(f.pixel(0, 0)[0], std::clamp(expected, 0, 255), 1) << target;
    }
}

TEST(MediaY4m, empty_writer_with_a_size_leaves_a_valid_zero_frame_stream) {
    TempDir dir;
    const std::string path = dir.file("empty_ok.y4m");
    {
        EncodeOptions options;
        options.width = 8;
        options.height = 8;
        open_video_sink(path, options)->close();
    }
    auto source = open_video(path);
    EXPECT_EQ(source->info().frame_count, 0);
    Frame f;
    EXPECT_FALSE(source->read(f));
}

TEST(MediaY4m, fps_to_rational_recognises_ntsc_rates) {
    EXPECT_EQ(fps_to_rational(25), std::make_pair(25, 1));
    EXPECT_EQ(fps_to_rational(29.97), std::make_pair(30000, 1001));
    EXPECT_EQ(fps_to_rational(23.976), std::make_pair(24000, 1001));
    EXPECT_EQ(fps_to_rational(12.5), std::make_pair(25, 2));
    EXPECT_THROW(fps_to_rational(0), Error);
}

TEST(MediaY4m, our_y4m_conversion_agrees_with_ffmpeg_both_ways) {
#ifndef LIPAR_HAVE_FFMPEG
    GTEST_SKIP() << "built without FFmpeg";
#else
    TempDir dir;
    // A real clip through our writer, then read back by our reader and by FFmpeg.
    const auto originals = read_video_frames(clip_path("dog_grass_832x480.mp4"), 8);
    ASSERT_EQ(originals.size(), 8u);
    const std::string ours = dir.file("dog.y4m");
    {
        EncodeOptions options;
        options.fps = 16;
        auto sink = open_video_sink(ours, options);
        for (const Frame& f : originals) {
            sink->write(f);
        }
    }
    auto mine = read_video_frames(ours);
    auto theirs = test::decode_with_ffmpeg_cli(ours, 832, 480, 8);
    ASSERT_EQ(mine.size(), 8u);
    for (size_t i = 0; i < mine.size(); ++i) {
        EXPECT_GT(psnr_db(mine[i], originals[i]), 38.0) << i;
        if (i < theirs.size()) {
            EXPECT_GT(psnr_db(mine[i], theirs[i]), 38.0) << i;
        }
    }
    // An FFmpeg-written y4m read by our reader (what the GPU machine's workflow does).
    const std::string ffmpeg_y4m = dir.file("ff.y4m");
    const std::string cmd = "ffmpeg -nostdin -v error -y -i '" + clip_path("chaplin.mp4") +
                            "' -frames:v 5 -pix_fmt yuv420p '" + ffmpeg_y4m + "' 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
        GTEST_SKIP() << "ffmpeg command line tool not available";
    }
    auto from_ffmpeg = read_video_frames(ffmpeg_y4m);
    auto direct = read_video_frames(clip_path("chaplin.mp4"), 5);
    ASSERT_EQ(from_ffmpeg.size(), 5u);
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_GT(psnr_db(from_ffmpeg[i], direct[i]), 35.0) << i;
    }
#endif
}

}  // namespace
}  // namespace lipar::media
