// Faults while the engine runs (docs/RELIABILITY.md): the disk fills up while recording, the
// source file is truncated or deleted under the decoder, a live pipe source closes mid-frame, a
// pack file is replaced while it is in use. Each gives a clear error or a clean end; what was
// recorded stays playable; the engine keeps running.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "common/temp_dir.h"
#include "core/device.h"
#include "media/y4m.h"
#include "runtime_test_util.h"

namespace lipar::runtime_test {
namespace {

#define SKIP_WITHOUT_CLIP()                                                                        \
    do {                                                                                           \
        if (clip_frames(1).empty()) GTEST_SKIP() << "needs the clip";                              \
    } while (0)

bool has_error(const std::vector<Status>& errors, StatusCode code, const std::string& text) {
    for (const auto& e : errors)
        if (e.code == code && e.message.find(text) != std::string::npos) return true;
    return false;
}

TEST(RuntimeFaults, a_full_disk_stops_the_recording_with_an_error_and_keeps_what_was_written) {
#ifndef LIPAR_HAVE_FFMPEG
    GTEST_SKIP() << "needs FFmpeg";
#endif
    SKIP_WITHOUT_CLIP();
    test::TempDir dir;
    const std::string path = dir.file("full.mp4");
    // A child process whose files may not grow past 60 kB (RLIMIT_FSIZE: a full disk for it).
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        int code = 10;
        try {
            // One thread: an OpenMP pool of the parent does not survive fork().
            at::set_num_threads(1);
            tiny_pack();  // written before the limit applies
            ::signal(SIGXFSZ, SIG_IGN);  // writes past the limit fail with EFBIG instead
            rlimit limit{60 * 1024, 60 * 1024};
            ::setrlimit(RLIMIT_FSIZE, &limit);
            Engine engine;
            Consumer consumer(engine);
            EditParams p;
            p.prompt = "full";
            p.mode = EditMode::Off;
            if (!engine.start(tiny_config(), p).ok()) ::_exit(11);
            if (!consumer.wait_for_state(EngineState::Ready)) ::_exit(12);
            if (!engine.start_recording(path, RecordContent::Output).ok()) ::_exit(13);
            if (!engine.open_source(SourceSpec::file(kClip, /*loop=*/true, Pacing::EveryFrame)).ok())
                ::_exit(14);
            // The recording fails (error reported) while editing goes on.
            const bool reported = consumer.wait_until([&] {
                return has_error(consumer.errors, StatusCode::IoError, "full.partial.mp4");
            });
            const bool still_running = consumer.wait_until([&] { return consumer.outputs.size() > 150; });
            code = !reported ? 15 : !still_running ? 16 : engine.recording() ? 17 : 0;
            engine.stop();
        } catch (...) {
            code = 18;
        }
        ::_exit(code);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << "child died with signal " << WTERMSIG(status);
    ASSERT_EQ(WEXITSTATUS(status), 0);
    // What was recorded before the disk filled up plays (stopping renamed it into place).
    const auto frames = media::read_video_frames(path);
    EXPECT_GE(frames.size(), 1u);
    EXPECT_EQ(frames.at(0).width, kWidth);
}

TEST(RuntimeFaults, a_source_file_truncated_or_deleted_while_playing_ends_cleanly) {
    SKIP_WITHOUT_CLIP();
    use_all_cpu_threads();
    for (const bool truncate : {true, false}) {
        test::TempDir dir;
        // A y4m copy: its frames are fixed-size records, so the cut lands mid-frame.
        const std::string path = dir.file("clip.y4m");
        {
            media::EncodeOptions o;
            o.fps = 16;
            media::Y4mWriter w(path, o);
            for (const auto& f : clip_frames(48)) w.write(f);
            w.close();
        }
        Engine engine;
        Consumer consumer(engine, Consumer::Take::Next);
        EditParams p;
        p.prompt = "cut";
        ASSERT_TRUE(engine.start(tiny_config(), p).ok());
        consumer.hold();  // the first block waits while the file changes underneath
        ASSERT_TRUE(engine.open_source(SourceSpec::file(path, false, Pacing::EveryFrame)).ok());
        ASSERT_TRUE(consumer.wait_until_held());
        if (truncate) {
            ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(fs::file_size(path) / 2)), 0);
        } else {
            ASSERT_EQ(::unlink(path.c_str()), 0);
        }
        consumer.release();
        // A read error ends the stream like an end of file: what came before is edited.
        ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished)) << error_list(consumer.errors);
        EXPECT_FALSE(consumer.outputs.empty());
        if (truncate) {
            // Frames past the cut never come; a half frame is reported, never decoded as noise.
            EXPECT_LT(consumer.outputs.size(), 45u);
            EXPECT_TRUE(has_error(consumer.errors, StatusCode::FormatError, "truncated"))
                << error_list(consumer.errors);
        } else {
            // A deleted file stays readable through the open descriptor: the clip plays to its end.
            EXPECT_EQ(consumer.outputs.size(), 45u) << error_list(consumer.errors);
        }
        EXPECT_NE(engine.state(), EngineState::Failed) << error_list(consumer.errors);
    }
}

TEST(RuntimeFaults, a_live_pipe_source_that_closes_mid_frame_ends_the_stream_and_the_engine_stays) {
    SKIP_WITHOUT_CLIP();
    use_all_cpu_threads();
    test::TempDir dir;
    const std::string fifo = dir.file("camera.y4m");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const auto frames = clip_frames(30);
    // The "camera": a y4m stream of 30 frames that stops halfway through the 31st.
    std::thread camera([&] {
        const int fd = ::open(fifo.c_str(), O_WRONLY);
        if (fd < 0) return;
        std::string header = "YUV4MPEG2 W" + std::to_string(kWidth) + " H" + std::to_string(kHeight) +
                             " F30:1 Ip A1:1 C444\n";
        (void)!::write(fd, header.data(), header.size());
        std::vector<uint8_t> plane(static_cast<size_t>(kWidth * kHeight) * 3, 100);
        for (size_t i = 0; i < frames.size(); ++i) {
            (void)!::write(fd, "FRAME\n", 6);
            (void)!::write(fd, plane.data(), plane.size());
        }
        (void)!::write(fd, "FRAME\n", 6);
        (void)!::write(fd, plane.data(), plane.size() / 3);  // the camera is unplugged here
        ::close(fd);
    });
    Engine engine;
    Consumer consumer(engine, Consumer::Take::Next);
    EditParams p;
    p.prompt = "unplugged";
    ASSERT_TRUE(engine.start(tiny_config(), p).ok());
    const Status opened = engine.open_source(SourceSpec::file(fifo, false, Pacing::EveryFrame));
    camera.join();
    ASSERT_TRUE(opened.ok()) << opened.to_string();
    ASSERT_TRUE(consumer.wait_until([&] {
        return engine.state() == EngineState::Finished && !consumer.outputs.empty();
    })) << error_list(consumer.errors);
    EXPECT_EQ(consumer.outputs.size(), 27u);  // the 30 whole frames, less the 3 TAEHV withholds
    EXPECT_TRUE(has_error(consumer.errors, StatusCode::FormatError, "camera.y4m") ||
                has_error(consumer.errors, StatusCode::IoError, "camera.y4m"))
        << error_list(consumer.errors);
    // The engine takes a new source afterwards.
    ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::EveryFrame)).ok());
    for (const auto& f : clip_frames(12)) ASSERT_TRUE(engine.push_frame(f));
    engine.end_of_stream();
    ASSERT_TRUE(consumer.wait_until([&] { return consumer.outputs.size() >= 27u + 9u; }));
}

TEST(RuntimeFaults, a_pack_file_replaced_while_in_use_changes_nothing_until_a_reload_names_it) {
    SKIP_WITHOUT_CLIP();
    use_all_cpu_threads();
    test::TempDir dir;
    const std::string pack_dir = dir.file("pack");
    fs::copy(tiny_pack().dir, pack_dir, fs::copy_options::recursive);
    EngineConfig config = tiny_config();
    config.pack = pack_dir;
    Engine engine;
    Consumer consumer(engine, Consumer::Take::Next);
    EditParams p;
    p.prompt = "swap";
    ASSERT_TRUE(engine.start(config, p).ok());
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Ready));
    // Replaced on disk (as an update would), after the weights were read.
    { std::ofstream(pack_dir + "/dit.safetensors", std::ios::trunc) << "not weights"; }
    ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::EveryFrame)).ok());
    for (const auto& f : clip_frames(24)) ASSERT_TRUE(engine.push_frame(f));
    engine.end_of_stream();
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished)) << error_list(consumer.errors);
    EXPECT_EQ(consumer.outputs.size(), 21u);
    EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
    // A restart reads the file again and says which one is broken.
    engine.stop();
    ASSERT_TRUE(engine.start(config, p).ok());
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Failed));
    ASSERT_FALSE(consumer.errors.empty());
    EXPECT_NE(consumer.errors.back().message.find("dit.safetensors"), std::string::npos)
        << consumer.errors.back().to_string();
}

}  // namespace
}  // namespace lipar::runtime_test
