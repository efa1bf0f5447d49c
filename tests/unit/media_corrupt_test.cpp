// Damaged inputs must end in a lipar::Error or a clean end of stream, never a crash or a hang.

#include <gtest/gtest.h>

#include "core/error.h"
#include "media/video_source.h"
#include "media_test_util.h"

namespace lipar::media {
namespace {

using test::clip_path;
using test::TempDir;

#ifndef LIPAR_HAVE_FFMPEG
#define REQUIRE_FFMPEG() GTEST_SKIP() << "built without FFmpeg"
#else
#define REQUIRE_FFMPEG() (void)0
#endif

enum class Outcome { Invalid = 0, OpenError, ReadError, CleanEnd };

// Opens and reads everything, returning how it ended; frames read go to *count.
Outcome decode_all(const std::string& path, int64_t* count, StatusCode* code) {
    *count = 0;
    std::unique_ptr<VideoSource> source;
    try {
        source = open_video(path);
    } catch (const Error& e) {
        *code = e.code();
        return Outcome::OpenError;
    }
    Frame frame;
    try {
        while (source->read(frame)) {
            EXPECT_EQ(frame.width, source->info().width);
            EXPECT_EQ(frame.rgb.size(), frame.byte_size());
            ++*count;
        }
    } catch (const Error& e) {
        *code = e.code();
        return Outcome::ReadError;
    }
    return Outcome::CleanEnd;
}

TEST(MediaCorrupt, truncated_clips_decode_a_prefix_or_fail_cleanly) {
    REQUIRE_FFMPEG();
    TempDir dir;
    for (const char* name : {"chaplin.mp4", "dog_grass_832x480.mp4", "tree.avi", "bbb_0_30.webm"}) {
        const auto bytes = test::read_bytes(clip_path(name));
        const std::string path = dir.file(std::string("trunc_") + name);
        test::write_bytes(path, bytes.data(), bytes.size() * 3 / 10);
        int64_t count = 0;
        StatusCode code = StatusCode::Ok;
        const Outcome outcome = decode_all(path, &count, &code);
        if (outcome == Outcome::OpenError) {
            EXPECT_EQ(code, StatusCode::FormatError) << name;
        } else {
            EXPECT_EQ(outcome, Outcome::CleanEnd) << name;
        }
        // Everything that came out must have been in the first 30% (plus B-frame slack).
        EXPECT_LT(count, 241) << name;
    }
}

TEST(MediaCorrupt, overwritten_middle_bytes_still_decode_to_the_end) {
    REQUIRE_FFMPEG();
    TempDir dir;
    for (const char* name : {"chaplin.mp4", "tree.avi", "dog_grass_832x480.mp4"}) {
        auto bytes = test::read_bytes(clip_path(name));
        // Scribble over 4 KB in the middle of the payload.
        uint32_t state = 12345;
        for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 4096; ++i) {
            state = state * 1664525u + 1013904223u;
            bytes[i] = static_cast<char>(state >> 24);
        }
        const std::string path = dir.file(std::string("scribbled_") + name);
        test::write_bytes(path, bytes.data(), bytes.size());
        int64_t count = 0;
        StatusCode code = StatusCode::Ok;
        const Outcome outcome = decode_all(path, &count, &code);
        EXPECT_NE(outcome, Outcome::OpenError) << name;
        if (outcome == Outcome::CleanEnd) {
            EXPECT_GT(count, 10) << name;
        } else {
            EXPECT_EQ(code, StatusCode::FormatError) << name;
        }
    }
}

TEST(MediaCorrupt, text_file_named_mp4_is_not_a_video) {
    REQUIRE_FFMPEG();
    TempDir dir;
    const std::string path = dir.file("notes.mp4");
    const std::string text = "These are my notes, not a video.\nLine two.\n";
    test::write_bytes(path, text.data(), text.size());
    try {
        open_video(path);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::FormatError);
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("not a video"), std::string::npos);
    }
}

TEST(MediaCorrupt, empty_files_are_not_videos) {
    TempDir dir;
    for (const char* name : {"empty.mp4", "empty.y4m", "empty.mkv"}) {
        const std::string path = dir.file(name);
        test::write_bytes(path, "", 0);
        try {
            open_video(path);
            FAIL() << "no error for " << name;
        } catch (const Error& e) {
#ifdef LIPAR_HAVE_FFMPEG
            EXPECT_EQ(e.code(), StatusCode::FormatError) << name;
#endif
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        }
    }
}

TEST(MediaCorrupt, audio_only_file_has_no_video_stream) {
    REQUIRE_FFMPEG();
    TempDir dir;
    const std::string path = dir.file("audio.mka");
    const std::string cmd = "ffmpeg -nostdin -v error -y -i '" + clip_path("chaplin.mp4") +
                            "' -vn -c:a copy -t 1 '" + path + "' 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
        GTEST_SKIP() << "ffmpeg command line tool not available";
    }
    try {
        open_video(path);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::FormatError);
        EXPECT_NE(std::string(e.what()).find("no video stream"), std::string::npos) << e.what();
    }
}

TEST(MediaCorrupt, directory_is_not_a_video) {
    REQUIRE_FFMPEG();
    TempDir dir;
    EXPECT_THROW(open_video(dir.path()), Error);
}

}  // namespace
}  // namespace lipar::media
