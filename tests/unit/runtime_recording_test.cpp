// Recording engine results to files, with the real editor (tiny random pack, 128x64).
#include "core/device.h"
#include "runtime/recorder.h"
#include "runtime_test_util.h"
#include "common/remove_tree.h"

namespace lipar::runtime_test {
namespace {

// Pushes n frames of the clip through a fresh external EveryFrame source and waits until the
// engine has flushed them (n - 3 results).
void run_clip(Engine& engine, Consumer& consumer, size_t n) {
    const size_t expected = consumer.outputs.size() + n - 3;
    ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::EveryFrame)).ok());
    for (const Frame& f : clip_frames(n))
        ASSERT_TRUE(engine.push_frame(f));
    engine.end_of_stream();
    ASSERT_TRUE(consumer.wait_until([&] {
        return consumer.outputs.size() >= expected && engine.state() == EngineState::Finished;
    })) << engine_state_name(engine.state())
        << "\n"
        << error_list(consumer.errors);
    ASSERT_EQ(consumer.outputs.size(), expected);
}

}  // namespace

TEST(RuntimeRecording, records_output_and_side_by_side_files_that_decode_back) {
#ifndef LIPAR_HAVE_FFMPEG
    GTEST_SKIP() << "needs FFmpeg";
#endif
    use_all_cpu_threads();
    const fs::path dir =
        fs::temp_directory_path() / ("lipar_runtime_recording_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string plain = (dir / "output.mkv").string();
    const std::string wide = (dir / "side_by_side.mp4").string();

    Engine engine;
    Consumer consumer(engine);
    EditParams params;
    params.prompt = "pencil drawing";
    ASSERT_TRUE(engine.start(tiny_config(), params).ok());
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Ready));

    ASSERT_TRUE(engine.start_recording(plain, RecordContent::Output).ok());
    EXPECT_TRUE(engine.recording());
    EXPECT_EQ(engine.start_recording(wide, RecordContent::Output).code,
              StatusCode::InvalidArgument);  // one recording at a time
    run_clip(engine, consumer, 23);
    ASSERT_TRUE(engine.stop_recording().ok());
    EXPECT_FALSE(engine.recording());
    ASSERT_EQ(consumer.outputs.size(), 20u);

    params.mode = EditMode::Compare;
    ASSERT_TRUE(engine.set_params(params).ok());
    ASSERT_TRUE(engine.start_recording(wide, RecordContent::SideBySide).ok());
    run_clip(engine, consumer, 23);
    // Stopping the engine finishes the recording.
    engine.stop();
    EXPECT_FALSE(engine.recording());
    EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
    ASSERT_EQ(consumer.outputs.size(), 40u);

    const auto a = media::read_video_frames(plain);
    ASSERT_EQ(a.size(), 20u);
    EXPECT_EQ(a[0].width, kWidth);
    EXPECT_EQ(a[0].height, kHeight);
    // Lossy, but close to what the engine produced.
    EXPECT_GT(media::psnr_db(a[10], consumer.outputs[10].output), 25.0);

    const auto b = media::read_video_frames(wide);
    ASSERT_EQ(b.size(), 20u);
    EXPECT_EQ(b[0].width, 2 * kWidth);
    EXPECT_EQ(b[0].height, kHeight);
    // Compare mode: baseline on the left, LIPAR on the right.
    const EngineOutput& o = consumer.outputs[30];
    EXPECT_GT(media::psnr_db(b[10], runtime::side_by_side(o.baseline, o.output)), 25.0);
    lipar::test::remove_tree(dir);
}

}  // namespace lipar::runtime_test
