// The engine runtime with the real editor and a tiny random pack at 128x64 on the test clip.
#include <atomic>
#include <thread>

#include "core/device.h"
#include "parallel/token_group.h"
#include "pipeline/editor.h"
#include "runtime_test_util.h"

namespace lipar::runtime_test {
namespace {

EditParams prompt_params(const std::string& prompt, EditMode mode = EditMode::Lipar) {
    EditParams p;
    p.prompt = prompt;
    p.mode = mode;
    return p;
}

std::string describe(Engine& engine, const Consumer& consumer) {
    return std::string("state ") + engine_state_name(engine.state()) + "; errors:\n" +
           error_list(consumer.errors);
}

#define SKIP_WITHOUT_FFMPEG()                                  \
    do {                                                       \
        if (clip_frames(1).empty())                            \
            GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)"; \
    } while (0)

}  // namespace

TEST(RuntimeEngine, export_mode_edits_every_frame_of_a_file_in_order_without_drops) {
    SKIP_WITHOUT_FFMPEG();
    use_all_cpu_threads();
    Engine engine;
    Consumer consumer(engine);
    ASSERT_TRUE(engine.start(tiny_config(), prompt_params("a watercolor painting")).ok());
    SourceSpec spec = SourceSpec::file(kClip, false, Pacing::EveryFrame);
    spec.max_frames = 26;
    ASSERT_TRUE(engine.open_source(spec).ok());
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished)) << describe(engine, consumer);

    EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
    ASSERT_EQ(consumer.outputs.size(), 23u);  // TAEHV withholds the first 3 frames of a stream
    for (size_t i = 0; i < consumer.outputs.size(); ++i) {
        const EngineOutput& out = consumer.outputs[i];
        ASSERT_EQ(out.index, static_cast<int64_t>(i) + 3);
        EXPECT_EQ(out.output.index, out.index);
        EXPECT_EQ(out.input.index, out.index);
        EXPECT_EQ(out.output.width, kWidth);
        EXPECT_EQ(out.output.height, kHeight);
        EXPECT_EQ(out.input.width, kWidth);
        EXPECT_TRUE(out.baseline.empty());
        EXPECT_EQ(out.mode, EditMode::Lipar);
        EXPECT_EQ(out.keep_mask.size(), 8u * 4u);
        EXPECT_EQ(out.mask_width * out.mask_height, 8 * 4);
        EXPECT_GT(out.latency_ms, 0.0);
    }
    const EngineStats s = engine.stats();
    EXPECT_EQ(s.dropped_frames, 0);
    EXPECT_EQ(s.frames_in, 26);
    EXPECT_EQ(s.frames_out, 23);
    EXPECT_EQ(s.stream_resets, 0);
    EXPECT_GT(s.stages.denoise_ms, 0.0);
    EXPECT_GT(s.stages.decode_ms, 0.0);
    EXPECT_GE(s.stages.total_ms, s.stages.denoise_ms + s.stages.decode_ms);
    EXPECT_GE(s.kept_ratio, 0.0);
    EXPECT_LE(s.kept_ratio, 1.0);
    EXPECT_NE(s.device.find("cpu"), std::string::npos) << s.device;
    EXPECT_EQ(s.pack_name, tiny_pack().name);
    EXPECT_TRUE(s.untrained);
}

TEST(RuntimeEngine, two_workers_split_by_tokens_or_by_layers_edit_a_file_through_the_engine) {
    SKIP_WITHOUT_FFMPEG();
    if (!parallel::token_groups_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    for (const bool tokens : {true, false}) {
        Engine engine;
        Consumer consumer(engine);
        EngineConfig config = tiny_config();
        config.gpus = 2;
        config.split_tokens = tokens;
        ASSERT_TRUE(engine.start(config, prompt_params("a watercolor painting")).ok());
        SourceSpec spec = SourceSpec::file(kClip, false, Pacing::EveryFrame);
        spec.max_frames = 14;
        ASSERT_TRUE(engine.open_source(spec).ok());
        ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished)) << describe(engine, consumer);
        EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
        EXPECT_EQ(consumer.outputs.size(), 11u);
        const std::string device = engine.stats().device;
        EXPECT_NE(device.find(tokens ? "2 token workers" : "2 pipeline stages"), std::string::npos) << device;
    }
}

TEST(RuntimeEngine, live_mode_edits_an_even_subsample_of_what_arrived_and_never_resets) {
    SKIP_WITHOUT_FFMPEG();
    use_all_cpu_threads();
    const auto frames = clip_frames(48);
    ASSERT_EQ(frames.size(), 48u);
    auto frame = [&](int64_t index) {  // frame `index` of a longer clip (the 48 repeat)
        Frame f = frames[static_cast<size_t>(index % 48)];
        f.index = index;
        return f;
    };
    Engine engine;
    Consumer consumer(engine, Consumer::Take::Next);
    // 40 frames wait before the engine runs: its first block takes 12 of them, evenly spread
    // (0, 4, 7, ..., 39); the other 28 are dropped.
    ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::Realtime)).ok());
    for (int64_t i = 0; i < 40; ++i)
        ASSERT_TRUE(engine.push_frame(frame(i)));
    ASSERT_TRUE(engine.start(tiny_config(), prompt_params("neon")).ok());
    ASSERT_TRUE(consumer.wait_for_index(39)) << describe(engine, consumer);
    std::vector<int64_t> seen;
    for (const auto& out : consumer.outputs) seen.push_back(out.index);
    // TAEHV withholds the first 3 frames of the stream (0, 4, 7).
    EXPECT_EQ(seen, (std::vector<int64_t>{11, 14, 18, 21, 25, 28, 32, 35, 39}));
    EXPECT_EQ(engine.stats().dropped_frames, 28);

    // The next block's wakeup blocks the engine thread (a slow engine) while 42 frames arrive.
    consumer.hold();
    for (int64_t i = 40; i < 52; ++i)
        ASSERT_TRUE(engine.push_frame(frame(i)));
    ASSERT_TRUE(consumer.wait_until_held());
    for (int64_t i = 52; i < 82; ++i)
        ASSERT_TRUE(engine.push_frame(frame(i)));
    consumer.release();
    ASSERT_TRUE(consumer.wait_for_index(81)) << describe(engine, consumer);
    const size_t before = seen.size();
    seen.clear();
    for (const auto& out : consumer.outputs) seen.push_back(out.index);
    ASSERT_GE(seen.size(), before + 12 + 12 - 1);  // two more whole blocks, nothing withheld
    for (size_t k = 1; k < seen.size(); ++k) EXPECT_GT(seen[k], seen[k - 1]);
    const EngineStats s = engine.stats();
    EXPECT_EQ(s.frames_in, 82);
    EXPECT_EQ(s.frames_out, static_cast<int64_t>(seen.size()));
    EXPECT_EQ(s.dropped_frames, 82 - s.frames_out - 3);  // every frame is edited or counted
    EXPECT_EQ(s.stream_resets, 0);
    EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
    EXPECT_EQ(engine.state(), EngineState::Running);
}

TEST(RuntimeEngine, gaps_in_live_source_indices_do_not_restart_the_stream) {
    SKIP_WITHOUT_FFMPEG();
    use_all_cpu_threads();
    const auto frames = clip_frames(36);
    auto frame = [&](int64_t index) {
        Frame f = frames[static_cast<size_t>(index)];
        f.index = index;
        return f;
    };
    Engine engine;
    Consumer consumer(engine, Consumer::Take::Next);
    ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::Realtime)).ok());
    ASSERT_TRUE(engine.start(tiny_config(), prompt_params("ink")).ok());
    for (int64_t i = 0; i < 12; ++i) ASSERT_TRUE(engine.push_frame(frame(i)));
    ASSERT_TRUE(consumer.wait_for_index(11)) << describe(engine, consumer);
    // Half a block, then a gap (frames 18..29 never arrive), then the other half: one stream.
    for (int64_t i = 12; i < 18; ++i) ASSERT_TRUE(engine.push_frame(frame(i)));
    for (int64_t i = 30; i < 36; ++i) ASSERT_TRUE(engine.push_frame(frame(i)));
    ASSERT_TRUE(consumer.wait_for_index(35)) << describe(engine, consumer);
    std::vector<int64_t> seen;
    for (const auto& out : consumer.outputs) seen.push_back(out.index);
    const std::vector<int64_t> expected = {3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
                                           14, 15, 16, 17, 30, 31, 32, 33, 34, 35};
    EXPECT_EQ(seen, expected);
    EXPECT_EQ(engine.stats().stream_resets, 0);
    EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
}

TEST(RuntimeEngine, stop_while_computing_and_with_a_blocked_producer_returns_cleanly) {
    SKIP_WITHOUT_FFMPEG();
    use_all_cpu_threads();
    const auto frames = clip_frames(24);
    Engine engine;
    Consumer consumer(engine);
    ASSERT_TRUE(engine.start(tiny_config(), prompt_params("ink")).ok());
    ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::EveryFrame)).ok());
    std::atomic<int64_t> accepted{0};
    std::atomic<bool> refused{false};
    std::thread producer([&] {
        for (size_t i = 0;; ++i) {
            Frame f = frames[i % frames.size()];
            f.index = -1;  // numbered by the engine
            if (!engine.push_frame(std::move(f))) {
                refused = true;
                return;
            }
            ++accepted;
        }
    });
    // The producer outruns the engine: it waits on the full queue while blocks are computed.
    ASSERT_TRUE(consumer.wait_for_index(3)) << describe(engine, consumer);
    engine.stop();
    producer.join();
    EXPECT_TRUE(refused);
    EXPECT_EQ(engine.state(), EngineState::Stopped);
    EXPECT_FALSE(engine.push_frame(frames[0]));  // no source any more
    engine.stop();                               // twice is fine
    EXPECT_EQ(engine.state(), EngineState::Stopped);
    EXPECT_GE(accepted.load(), 12);
    EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
}

TEST(RuntimeEngine, stop_during_loading_then_a_restart_works) {
    Engine engine;
    Consumer consumer(engine);
    ASSERT_TRUE(engine.start(tiny_config(), prompt_params("a")).ok());
    engine.stop();  // most likely while the pack loads; either way it must return cleanly
    EXPECT_EQ(engine.state(), EngineState::Stopped);
    EXPECT_EQ(engine.start(tiny_config(), prompt_params("b")).code, StatusCode::Ok);
    EXPECT_EQ(engine.start(tiny_config(), prompt_params("b")).code, StatusCode::InvalidArgument);
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Ready)) << describe(engine, consumer);
    // The destructor stops it.
}

TEST(RuntimeEngine, prompt_change_mid_stream_applies_without_reset_and_compare_adds_baselines) {
    SKIP_WITHOUT_FFMPEG();
    use_all_cpu_threads();
    const auto frames = clip_frames(36);
    ASSERT_EQ(frames.size(), 36u);
    Engine engine;
    Consumer consumer(engine);
    // Dense: with pruning, the random pack's blocks after the first are all restored copies.
    EditParams p = prompt_params("first prompt", EditMode::Off);
    ASSERT_TRUE(engine.start(tiny_config(), p).ok());
    ASSERT_TRUE(engine.open_source(SourceSpec::external(Pacing::EveryFrame)).ok());
    for (int i = 0; i < 12; ++i)
        ASSERT_TRUE(engine.push_frame(frames[i]));
    ASSERT_TRUE(consumer.wait_for_index(11)) << describe(engine, consumer);
    p.prompt = "second prompt";
    ASSERT_TRUE(engine.set_params(p).ok());
    EXPECT_EQ(engine.params().prompt, "second prompt");
    for (int i = 12; i < 24; ++i)
        ASSERT_TRUE(engine.push_frame(frames[i]));
    ASSERT_TRUE(consumer.wait_for_index(23)) << describe(engine, consumer);
    p.mode = EditMode::Compare;
    ASSERT_TRUE(engine.set_params(p).ok());
    for (int i = 24; i < 36; ++i)
        ASSERT_TRUE(engine.push_frame(frames[i]));
    engine.end_of_stream();
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Finished)) << describe(engine, consumer);

    EXPECT_TRUE(consumer.errors.empty()) << error_list(consumer.errors);
    const auto& out = consumer.outputs;
    ASSERT_EQ(out.size(), 33u);
    for (size_t i = 0; i < out.size(); ++i)
        ASSERT_EQ(out[i].index, static_cast<int64_t>(i) + 3);
    EXPECT_EQ(engine.stats().stream_resets, 0);
    for (const auto& o : out) {
        const bool compare = o.index >= 24;
        // The baseline's decoder stream starts with compare mode and withholds 3 frames.
        const bool baseline = o.index >= 27;
        EXPECT_EQ(o.mode, compare ? EditMode::Compare : EditMode::Off) << o.index;
        EXPECT_EQ(o.baseline.empty(), !baseline) << o.index;
        if (baseline) {
            EXPECT_EQ(o.baseline.width, kWidth);
            EXPECT_EQ(o.baseline.index, o.index);
        }
    }
    EXPECT_GT(engine.stats().baseline_ms_per_frame, 0.0);
    EXPECT_GT(engine.stats().lipar_ms_per_frame, 0.0);

    // Reference: the same frames through a bare editor that keeps the first prompt.
    pipeline::EditorSettings settings;
    settings.width = kWidth;
    settings.height = kHeight;
    pipeline::Editor editor(tiny_pack(), settings);
    editor.set_params(prompt_params("first prompt", EditMode::Off));
    std::vector<pipeline::EditedFrame> ref;
    for (int i = 0; i < 24; ++i) {
        for (auto& e : editor.push(frames[i]))
            ref.push_back(std::move(e));
    }
    ASSERT_EQ(ref.size(), 21u);
    int differing = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        ASSERT_EQ(out[i].index, ref[i].index);
        if (out[i].index < 12) {  // block 1: the first prompt in both
            EXPECT_EQ(out[i].output.rgb, ref[i].output.rgb) << out[i].index;
        } else {
            differing += out[i].output.rgb != ref[i].output.rgb;
        }
    }
    EXPECT_GT(differing, 0);  // block 2: the second prompt
}

TEST(RuntimeEngine, a_bad_pack_path_fails_with_a_status_naming_the_path) {
    Engine engine;
    Consumer consumer(engine);
    EngineConfig config = tiny_config();
    config.pack = "/nonexistent/lipar-pack";
    ASSERT_TRUE(engine.start(config).ok());  // the pack loads on the engine thread
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Failed));
    ASSERT_FALSE(consumer.errors.empty());
    EXPECT_EQ(consumer.errors[0].code, StatusCode::NotFound) << consumer.errors[0].to_string();
    EXPECT_NE(consumer.errors[0].message.find("/nonexistent/lipar-pack"), std::string::npos)
        << consumer.errors[0].message;
    EXPECT_FALSE(engine.push_frame(Frame{}));
    // A failed engine may be started again directly.
    EXPECT_TRUE(engine.start(tiny_config()).ok());
    ASSERT_TRUE(consumer.wait_for_state(EngineState::Ready)) << describe(engine, consumer);
}

TEST(RuntimeEngine, invalid_params_and_configs_are_refused_with_a_status) {
    Engine engine;
    EditParams bad;
    bad.strength = 1.5;
    Status s = engine.start(tiny_config(), bad);
    EXPECT_EQ(s.code, StatusCode::InvalidArgument);
    EXPECT_NE(s.message.find("strength"), std::string::npos) << s.message;
    EXPECT_EQ(engine.state(), EngineState::Stopped);

    EngineConfig config = tiny_config();
    config.width = 100;
    EXPECT_EQ(engine.start(config).code, StatusCode::InvalidArgument);
    config = tiny_config();
    config.device = "tpu";
    EXPECT_EQ(engine.start(config).code, StatusCode::InvalidArgument);
    config = tiny_config();
    config.dtype = "f8";
    EXPECT_EQ(engine.start(config).code, StatusCode::InvalidArgument);

    EditParams good = prompt_params("kept");
    EXPECT_TRUE(engine.set_params(good).ok());
    bad = good;
    bad.steps = -1;  // 0 means "the pack's", negative is wrong
    s = engine.set_params(bad);
    EXPECT_EQ(s.code, StatusCode::InvalidArgument);
    EXPECT_NE(s.message.find("steps"), std::string::npos) << s.message;
    EXPECT_EQ(engine.params().steps, good.steps);  // unchanged
    EXPECT_EQ(engine.params().prompt, "kept");

    EXPECT_EQ(engine.open_source(SourceSpec{}).code, StatusCode::InvalidArgument);
    EXPECT_EQ(engine.open_source(SourceSpec::file("/nonexistent/clip.mp4")).code,
              StatusCode::NotFound);
    EXPECT_EQ(engine.start_recording("/tmp/x.mkv", RecordContent::Invalid).code,
              StatusCode::InvalidArgument);
    EXPECT_FALSE(engine.push_frame(Frame{}));  // no external source
}

}  // namespace lipar::runtime_test
