// The engine runtime on CUDA: device/dtype "auto", stats from the device, the out-of-memory path.
#include <gtest/gtest.h>

#include <iostream>

#include "core/gpu_memory.h"
#include "unit/runtime_test_util.h"

namespace lipar::runtime_test {
namespace {

bool have_cuda() {
    return torch::cuda::is_available();
}

EngineConfig cuda_config(int width, int height) {
    EngineConfig c = tiny_config();
    c.device = "auto";  // -> cuda, bf16
    c.width = width;
    c.height = height;
    return c;
}

void push_clip(Engine& engine, const std::vector<Frame>& frames, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i)
        ASSERT_TRUE(engine.push_frame(frames[i]));
}

}  // namespace

TEST(GpuRuntime, auto_device_runs_the_engine_on_cuda_in_bf16_every_mode) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    if (clip_frames(1).empty())
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    const auto all = media::read_video_frames(kClip, 40);
    ASSERT_EQ(all.size(), 40u);
    for (EditMode mode : {EditMode::Off, EditMode::Lipar, EditMode::Compare}) {
        Engine engine;
        Consumer consumer(engine);
        EditParams p;
        p.prompt = "a watercolor painting";
        p.mode = mode;
        ASSERT_TRUE(engine.start(cuda_config(320, 192), p).ok());
        ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::EveryFrame)).ok());
        push_clip(engine, all, 0, all.size());  // full 832x480 frames, fitted by the editor
        engine.end_of_stream();
        ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished))
            << engine_state_name(engine.state()) << "\n"
            << error_list(consumer.errors);
        EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
        ASSERT_EQ(consumer.outputs.size(), 37u);
        EXPECT_EQ(consumer.outputs.back().index, 39);
        EXPECT_EQ(consumer.outputs.back().output.width, 320);
        EXPECT_EQ(consumer.outputs.back().baseline.empty(), mode != EditMode::Compare);
        const EngineStats s = engine.stats();
        EXPECT_EQ(s.device.find("cpu"), std::string::npos) << s.device;
        EXPECT_GT(s.stages.denoise_ms, 0.0);
        std::cout << "[ info ] " << edit_mode_name(mode) << " on " << s.device << ": total "
                  << s.stages.total_ms << " ms/frame (encode " << s.stages.encode_ms << ", detect "
                  << s.stages.detect_ms << ", denoise " << s.stages.denoise_ms << ", decode "
                  << s.stages.decode_ms << "), kept " << s.kept_ratio << ", latency "
                  << s.latency_ms << " ms, baseline " << s.baseline_ms_per_frame << " vs lipar "
                  << s.lipar_ms_per_frame << " ms/frame\n";
    }
}

TEST(GpuRuntime, out_of_memory_in_a_block_is_retried_once_then_reported_and_fails) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    if (clip_frames(1).empty())
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    const auto frames = clip_frames(24);
    ASSERT_EQ(frames.size(), 24u);
    Engine engine;
    Consumer consumer(engine);
    EditParams p;
    p.prompt = "oom";
    ASSERT_TRUE(engine.start(cuda_config(kWidth, kHeight), p).ok());
    ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::EveryFrame)).ok());
    push_clip(engine, frames, 0, 12);  // a first block warms up kernels and library handles
    ASSERT_TRUE(consumer.wait_for_index(11)) << error_list(consumer.errors);

    // Take every free byte of the device, then feed the next block.
    std::vector<torch::Tensor> hog;
    for (int64_t chunk : {int64_t(1) << 28, int64_t(1) << 24, int64_t(1) << 20, int64_t(1) << 16}) {
        for (;;) {
            try {
                hog.push_back(torch::empty(
                    {chunk}, torch::TensorOptions().device(torch::kCUDA).dtype(torch::kUInt8)));
            } catch (const c10::Error&) {
                break;
            }
        }
    }
    push_clip(engine, frames, 12, 24);
    const bool failed = consumer.wait_for_state(EngineState::Failed);
    hog.clear();
    release_cached_gpu_memory();
    ASSERT_TRUE(failed) << engine_state_name(engine.state()) << "\n" << error_list(consumer.errors);
    ASSERT_FALSE(consumer.errors.empty());
    EXPECT_EQ(consumer.errors.back().code, StatusCode::OutOfMemory)
        << consumer.errors.back().to_string();
    EXPECT_NE(consumer.errors.back().message.find("even after freeing caches"), std::string::npos)
        << consumer.errors.back().message;
    EXPECT_FALSE(engine.push_frame(frames[0]));  // producers are refused once failed
    // A failed engine starts again.
    ASSERT_TRUE(engine.start(cuda_config(kWidth, kHeight), p).ok());
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Ready)) << error_list(consumer.errors);
}

}  // namespace lipar::runtime_test
