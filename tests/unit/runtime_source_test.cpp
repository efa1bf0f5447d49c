// Engine sources: realtime file playback, looping, refused frames, cameras.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "core/device.h"
#include "media/camera.h"
#include "runtime_test_util.h"

namespace lipar::runtime_test {

TEST(RuntimeSource, a_realtime_file_plays_to_its_end_and_finishes) {
    if (clip_frames(1).empty())
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    Engine engine;
    Consumer consumer(engine);
    EditParams p;
    p.prompt = "live";
    ASSERT_TRUE(engine.start(tiny_config(), p).ok());
    SourceSpec spec = SourceSpec::file(kClip);  // Realtime: paced at 16 fps
    spec.max_frames = 16;
    ASSERT_TRUE(engine.open_source(spec).ok());
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished)) << error_list(consumer.errors);
    EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
    const EngineStats s = engine.stats();
    EXPECT_EQ(s.frames_in, 16);
    EXPECT_EQ(s.frames_out, static_cast<int64_t>(consumer.outputs.size()));
    ASSERT_FALSE(consumer.outputs.empty());
    EXPECT_EQ(consumer.outputs.back().index, 15);  // the end is flushed
    if (s.dropped_frames == 0) {                   // an engine that keeps up loses nothing
        EXPECT_EQ(consumer.outputs.size(), 13u);
        EXPECT_EQ(s.stream_resets, 0);
    }
    for (size_t i = 1; i < consumer.outputs.size(); ++i) {
        EXPECT_GT(consumer.outputs[i].index, consumer.outputs[i - 1].index);
    }
}

TEST(RuntimeSource, a_slow_engine_behind_a_realtime_file_delivers_blocks_continuously) {
    if (clip_frames(1).empty())
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    Engine engine;
    Consumer consumer(engine, Consumer::Take::Next);
    // Every wakeup (a block's results, a state change) keeps the engine thread 500 ms, so a block
    // costs it 0.5 to 1.5 s; a block of 12 frames lasts 750 ms at the clip's 16 fps.
    consumer.set_engine_delay(std::chrono::milliseconds(500));
    EditParams p;
    p.prompt = "slow";
    ASSERT_TRUE(engine.start(tiny_config(), p).ok());
    SourceSpec spec = SourceSpec::file(kClip);  // Realtime
    spec.max_frames = 64;
    ASSERT_TRUE(engine.open_source(spec).ok());
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished)) << error_list(consumer.errors);
    EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
    const EngineStats s = engine.stats();
    EXPECT_EQ(s.frames_in, 64);
    EXPECT_GT(s.dropped_frames, 0);
    EXPECT_EQ(s.stream_resets, 0);
    // Every frame is either edited, withheld at the stream's start, or counted as dropped.
    EXPECT_EQ(s.frames_out + s.dropped_frames + 3, s.frames_in);
    ASSERT_GE(consumer.outputs.size(), 2u * 12u - 3u);  // blocks keep coming out
    for (size_t i = 1; i < consumer.outputs.size(); ++i)
        EXPECT_GT(consumer.outputs[i].index, consumer.outputs[i - 1].index);
    EXPECT_EQ(consumer.outputs.back().index, 63);
    // The queue never grows: no result is older than about two engine blocks plus a block of
    // capture (1.5 s + 1.5 s + 0.75 s here), with room for a busy test machine. The engine block
    // is measured (the longest wait between results). The bound needs a source that outlasts a
    // couple of blocks: when the whole 4 s clip arrives during one block (a sanitizer build,
    // 10x slower), the last blocks are made of frames that arrived long before, as they should.
    const double block_ms = std::max(1500.0, consumer.longest_gap_ms());
    const double clip_ms = 64 * 1000.0 / 16;
    if (2 * block_ms > clip_ms) {
        std::printf("latency bound not checked: engine blocks of %.0f ms outlast the %.0f ms clip\n",
                    block_ms, clip_ms);
        return;
    }
    for (const auto& out : consumer.outputs)
        EXPECT_LT(out.latency_ms, 2 * block_ms + 750.0 + 1250.0) << out.index << ", block " << block_ms << " ms";
}

TEST(RuntimeSource, a_source_whose_open_blocks_leaves_every_other_call_responsive) {
    // A FIFO: opening it for reading, then reading its header, blocks until a writer comes.
    const std::string fifo =
        (std::filesystem::temp_directory_path() / ("lipar_fifo_" + std::to_string(::getpid()) + ".y4m"))
            .string();
    ::unlink(fifo.c_str());
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    Engine engine;
    Consumer consumer(engine);
    EditParams p;
    p.prompt = "x";
    ASSERT_TRUE(engine.start(tiny_config(), p).ok());
    Status opened;
    std::thread opener([&] { opened = engine.open_source(SourceSpec::file(fifo)); });
    // The writer end opens only once the reader is inside open(): then the open hangs on the
    // header, which never comes while we hold this end.
    int writer = -1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK)) < 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    ASSERT_GE(writer, 0);
    // Meanwhile the controlling thread's calls all return.
    EXPECT_TRUE(engine.set_params(p).ok());
    (void)engine.stats();
    EXPECT_TRUE(engine.stop_recording().ok());
    engine.close_source();
    engine.reset_stream();
    ::close(writer);  // end of file: the open fails cleanly
    opener.join();
    EXPECT_EQ(opened.code, StatusCode::FormatError) << opened.to_string();
    ::unlink(fifo.c_str());
}

TEST(RuntimeSource, a_looping_file_keeps_counting_frames_without_a_reset) {
    if (clip_frames(1).empty())
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    Engine engine;
    Consumer consumer(engine);
    EditParams p;
    p.prompt = "loop";
    p.mode = EditMode::Off;
    ASSERT_TRUE(engine.start(tiny_config(), p).ok());
    SourceSpec spec = SourceSpec::file(kClip, true, Pacing::EveryFrame);
    spec.max_frames = 90;  // the clip has 81 frames
    ASSERT_TRUE(engine.open_source(spec).ok());
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished)) << error_list(consumer.errors);
    ASSERT_EQ(consumer.outputs.size(), 87u);
    EXPECT_EQ(consumer.outputs.back().index, 89);
    EXPECT_EQ(engine.stats().stream_resets, 0);
    // Frame 81 is the clip's frame 0 again.
    const auto first = clip_frames(1);
    EXPECT_EQ(consumer.outputs[81 - 3].input.rgb, first[0].rgb);
}

TEST(RuntimeSource, a_frame_the_editor_refuses_is_reported_and_the_stream_goes_on) {
    if (clip_frames(1).empty())
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    const auto frames = clip_frames(16);
    Engine engine;
    Consumer consumer(engine);
    EditParams p;
    p.prompt = "x";
    ASSERT_TRUE(engine.start(tiny_config(), p).ok());
    ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::EveryFrame)).ok());
    Frame empty;
    empty.index = 100;
    ASSERT_TRUE(engine.push_frame(empty));
    for (const auto& f : frames)
        ASSERT_TRUE(engine.push_frame(f));
    engine.end_of_stream();
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished)) << error_list(consumer.errors);
    ASSERT_EQ(consumer.errors.size(), 1u);
    EXPECT_EQ(consumer.errors[0].code, StatusCode::InvalidArgument);
    EXPECT_EQ(consumer.outputs.size(), 13u);
}

TEST(RuntimeSource, list_cameras_describes_what_media_finds) {
    const auto media_cameras = media::list_cameras();
    const auto cameras = list_cameras();
    ASSERT_EQ(cameras.size(), media_cameras.size());
    for (size_t i = 0; i < cameras.size(); ++i) {
        EXPECT_EQ(cameras[i].index, media_cameras[i].index);
        EXPECT_EQ(cameras[i].path, media_cameras[i].path);
    }
    Engine engine;
    EXPECT_NE(engine.open_source(SourceSpec::camera(99)).code, StatusCode::Ok);  // no /dev/video99
}

}  // namespace lipar::runtime_test
