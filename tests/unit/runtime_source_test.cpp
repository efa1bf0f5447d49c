// Engine sources: realtime file playback, looping, refused frames, cameras.
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
