#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/device.h"
#include "core/error.h"
#include "media/convert.h"
#include "media/video_source.h"
#include "pipeline/editor.h"
#include "pipeline/random_pack.h"
#include "common/remove_tree.h"

namespace lipar::pipeline {
namespace {

namespace fs = std::filesystem;

const std::string kClip = LIPAR_TEST_CLIP;  // mp4, or its y4m copy without FFmpeg

// A tiny random pack, written once per test binary run.
const ModelPack& tiny_pack() {
    static ModelPack pack = [] {
        RandomPackOptions o;
        o.config = "tiny";
        o.out = (fs::temp_directory_path() / ("lipar_editor_test_pack_" + std::to_string(::getpid())))
                    .string();
        o.seed = 7;
        lipar::test::remove_tree_at_exit(o.out);
        return write_random_pack(o);
    }();
    return pack;
}

std::vector<Frame> clip_frames(int n) {
    if (!std::filesystem::exists(kClip))
        return {};
    return media::read_video_frames(kClip, n);
}

std::vector<EditedFrame> run(Editor& editor, const std::vector<Frame>& frames) {
    std::vector<EditedFrame> out;
    for (const auto& f : frames) {
        auto o = editor.push(f);
        out.insert(out.end(), o.begin(), o.end());
    }
    auto o = editor.flush();
    out.insert(out.end(), o.begin(), o.end());
    return out;
}

EditorSettings cpu_settings() {
    EditorSettings s;
    s.width = 128;
    s.height = 64;
    return s;
}

}  // namespace

TEST(Editor, edits_a_real_clip_in_every_mode_with_one_output_per_source_frame_after_the_trim) {
if (!std::filesystem::exists(LIPAR_TEST_CLIP))
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    const auto frames = clip_frames(16);
    ASSERT_EQ(frames.size(), 16u);
    Editor editor(tiny_pack(), cpu_settings());
    EXPECT_EQ(editor.source_frames_per_block(), 12);  // 3 latent frames x TAEHV's 4
    for (auto mode : {EditMode::Off, EditMode::Naive, EditMode::Lipar, EditMode::Compare}) {
        EditParams p;
        p.prompt = "a watercolor painting";
        p.mode = mode;
        editor.set_params(p);
        auto out = run(editor, frames);
        // TAEHV withholds the first 3 frames of a stream
        ASSERT_EQ(out.size(), 13u) << edit_mode_name(mode);
        EXPECT_EQ(out.front().index, 3);
        EXPECT_EQ(out.back().index, 15);
        EXPECT_EQ(out[0].output.width, 128);
        EXPECT_EQ(out[0].output.height, 64);
        EXPECT_EQ(out[0].input.index, 3);
        EXPECT_EQ(out[5].baseline.empty(), mode != EditMode::Compare);
        EXPECT_EQ(out[5].keep_mask.empty(), mode == EditMode::Off);
        if (!out[5].keep_mask.empty()) {
            EXPECT_EQ(out[5].mask_width * out[5].mask_height, 8 * 4);
        }
    }
}

TEST(Editor, a_kept_bucket_rounds_each_pruned_block_up_to_its_multiple) {
    if (!std::filesystem::exists(LIPAR_TEST_CLIP))
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    const auto frames = clip_frames(40);
    ASSERT_EQ(frames.size(), 40u);
    std::vector<double> exact, bucketed;
    for (int64_t bucket : {0, 16}) {
        EditorSettings s = cpu_settings();
        s.kept_bucket = bucket;
        Editor editor(tiny_pack(), s);
        EditParams p;
        p.prompt = "bucket";
        p.tau1 = 0.02;  // the random autoencoder's latents change little: keep some of them
        p.tau2 = 0.04;
        // the filters this clip's kept counts were chosen with (some off the bucket's multiple)
        p.detection = DetectionFilters::Causal;
        p.mode = EditMode::Lipar;
        editor.set_params(p);
        for (const auto& f : frames) {
            if (editor.push(f).empty()) continue;
            (bucket ? bucketed : exact).push_back(editor.last_report().kept_ratio);
        }
    }
    ASSERT_EQ(exact.size(), bucketed.size());
    ASSERT_GE(exact.size(), 2u);
    bool some_exact_count_off_the_bucket = false;
    for (size_t i = 0; i < exact.size(); ++i) {
        const double kept = bucketed[i] * 96;  // 3 latent frames of 8x4 tokens
        EXPECT_NEAR(kept, 16 * std::round(kept / 16), 1e-6) << "block " << i;
        const double exact_kept = exact[i] * 96;
        some_exact_count_off_the_bucket |= std::abs(exact_kept - 16 * std::round(exact_kept / 16)) > 0.5;
    }
    EXPECT_TRUE(some_exact_count_off_the_bucket) << "exact kept ratios " << ::testing::PrintToString(exact);
    // The first pruned block sees the same detection either way (the long-term reference differs
    // afterwards): at most 15 tokens more, never fewer.
    EXPECT_GE(bucketed[1], exact[1] - 1e-9);
    EXPECT_LT(bucketed[1] - exact[1], 16.0 / 96 - 1e-9);
}

// The attention window speaks the paper's terms (m = [sink, recent], recent counting the current
// block); the cache keeps recent - frames_per_block committed frames besides the sink.
TEST(Editor, attention_window_is_in_the_papers_terms_and_defaults_to_m_1_6) {
    EXPECT_EQ(model::kv_window({1, 6}, 3).sink_frames, 1);
    EXPECT_EQ(model::kv_window({1, 6}, 3).recent_frames, 3);   // Self-Forcing local_attn_size 7
    EXPECT_EQ(model::kv_window({1, 20}, 3).recent_frames, 17);  // Self-Forcing's 21 frames
    EXPECT_THROW(model::kv_window({1, 3}, 3), Error);           // the block alone: not a stream
    EXPECT_THROW(model::kv_window({-1, 6}, 3), Error);
    {  // a pack that does not say: the paper's [1, 6]
        Editor editor(tiny_pack(), cpu_settings());
        EXPECT_EQ(editor.kv_window().sink_frames, 1);
        EXPECT_EQ(editor.kv_window().recent_frames, 3);
    }
    EditorSettings s = cpu_settings();
    s.attention = model::AttentionWindow{2, 9};
    Editor editor(tiny_pack(), s);
    EXPECT_EQ(editor.kv_window().sink_frames, 2);
    EXPECT_EQ(editor.kv_window().recent_frames, 6);

    // Manifests: "attention" as it is; an older "window" (committed frames) converted; saved as
    // "attention".
    const std::string dir = tiny_pack().dir + "_windows";
    fs::create_directories(dir);
    auto write_manifest = [&](const std::string& window_json) {
        std::string text = R"({"name": "w", "untrained": true, "dit": {"weights": ")" + tiny_pack().dit_weights +
                           R"("}, "autoencoder": {"kind": "taehv", "weights": ")" + tiny_pack().encoder_weights +
                           R"("}, "text": {"kind": "hashed"}, "schedule": {"frames_per_block": 3}, )" +
                           window_json + "}";
        std::ofstream(dir + "/manifest.json", std::ios::trunc) << text;
    };
    write_manifest(R"("attention": {"sink": 1, "recent": 6})");
    EXPECT_EQ(ModelPack::load(dir).window_recent, 6);
    write_manifest(R"("window": {"sink": 1, "recent": 3})");
    ModelPack legacy = ModelPack::load(dir);
    EXPECT_EQ(legacy.window_sink, 1);
    EXPECT_EQ(legacy.window_recent, 6);
    legacy.save();
    std::ifstream saved(dir + "/manifest.json");
    const std::string text((std::istreambuf_iterator<char>(saved)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("\"attention\""), std::string::npos) << text;
    EXPECT_EQ(ModelPack::load(dir).window_recent, 6);
    write_manifest(R"("attention": {"sink": 1, "recent": 3})");
    EXPECT_THROW(ModelPack::load(dir), Error);
    lipar::test::remove_tree(dir);
}

// Found by tests/fuzz/fuzz_pack.cpp: a manifest naming "./file" loaded as "DIR/./file", save()
// wrote "file", and the reloaded pack described itself differently.
TEST(Editor, pack_paths_are_normal_so_save_and_load_give_the_same_pack) {
    const std::string dir = tiny_pack().dir + "_paths";
    fs::create_directories(dir);
    fs::copy_file(tiny_pack().dit_weights, dir + "/dit.safetensors", fs::copy_options::overwrite_existing);
    fs::copy_file(tiny_pack().encoder_weights, dir + "/taehv.safetensors", fs::copy_options::overwrite_existing);
    std::ofstream(dir + "/manifest.json", std::ios::trunc)
        << R"({"name": "p", "untrained": true, "dit": {"weights": "./dit.safetensors"},
              "autoencoder": {"kind": "taehv", "weights": "sub/../taehv.safetensors"},
              "text": {"kind": "hashed"}, "schedule": {"frames_per_block": 3}})";
    const ModelPack pack = ModelPack::load(dir);
    EXPECT_EQ(pack.dit_weights, (fs::path(dir) / "dit.safetensors").lexically_normal().string());
    EXPECT_EQ(pack.encoder_weights, (fs::path(dir) / "taehv.safetensors").lexically_normal().string());
    const std::string described = pack.describe();
    pack.save();
    EXPECT_EQ(ModelPack::load(dir).describe(), described);
    lipar::test::remove_tree(dir);
}

// Found by tests/fuzz/fuzz_pack.cpp: a weights name the file system refuses (too long) escaped
// the loader as a std::filesystem_error instead of the loader's own NotFound.
TEST(Editor, a_pack_naming_a_file_the_file_system_refuses_is_reported_as_missing) {
    const std::string dir = tiny_pack().dir + "_long_name";
    fs::create_directories(dir);
    std::ofstream(dir + "/manifest.json", std::ios::trunc)
        << R"({"name": "l", "untrained": true, "dit": {"weights": ")" + std::string(5000, 'x') + R"("},
              "autoencoder": {"kind": "taehv", "weights": "taehv.safetensors"},
              "text": {"kind": "hashed"}, "schedule": {"frames_per_block": 3}})";
    try {
        ModelPack::load(dir);
        ADD_FAILURE() << "a pack whose weights cannot exist must not load";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::NotFound) << e.what();
        EXPECT_NE(std::string(e.what()).find("is missing"), std::string::npos) << e.what();
    }
    lipar::test::remove_tree(dir);
}

TEST(Editor, is_deterministic_for_a_seed_and_the_seed_matters) {
if (!std::filesystem::exists(LIPAR_TEST_CLIP))
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    const auto frames = clip_frames(12);
    Editor editor(tiny_pack(), cpu_settings());
    EditParams p;
    p.prompt = "oil painting";
    p.seed = 3;
    editor.set_params(p);
    auto a = run(editor, frames);
    auto b = run(editor, frames);
    p.seed = 4;
    editor.set_params(p);
    auto c = run(editor, frames);
    ASSERT_EQ(a.size(), b.size());
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a.back().output.rgb, b.back().output.rgb);
    EXPECT_NE(a.back().output.rgb, c.back().output.rgb);
}

TEST(Editor, compare_mode_baseline_equals_a_separate_off_run) {
if (!std::filesystem::exists(LIPAR_TEST_CLIP))
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    const auto frames = clip_frames(16);
    Editor editor(tiny_pack(), cpu_settings());
    EditParams p;
    p.prompt = "charcoal sketch";
    p.mode = EditMode::Compare;
    editor.set_params(p);
    auto cmp = run(editor, frames);
    p.mode = EditMode::Off;
    editor.set_params(p);
    auto off = run(editor, frames);
    ASSERT_EQ(cmp.size(), off.size());
    for (size_t i = 0; i < off.size(); ++i) {
        EXPECT_EQ(cmp[i].baseline.rgb, off[i].output.rgb) << "frame " << i;
    }
}

TEST(Editor, a_prompt_change_mid_stream_takes_effect_at_the_next_block_without_reset) {
if (!std::filesystem::exists(LIPAR_TEST_CLIP))
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    const auto frames = clip_frames(24);
    Editor editor(tiny_pack(), cpu_settings());
    EditParams p;
    p.prompt = "first prompt";
    p.mode = EditMode::Off;
    editor.set_params(p);
    std::vector<EditedFrame> a, b;
    for (size_t i = 0; i < frames.size(); ++i) {
        if (i == 12) {  // after the first block was queued
            p.prompt = "second prompt";
            editor.set_params(p);
        }
        auto o = editor.push(frames[i]);
        a.insert(a.end(), o.begin(), o.end());
    }
    p.prompt = "first prompt";
    editor.set_params(p);
    editor.reset();
    for (const auto& f : frames) {
        auto o = editor.push(f);
        b.insert(b.end(), o.begin(), o.end());
    }
    ASSERT_EQ(a.size(), b.size());
    ASSERT_EQ(a.size(), 21u);
    EXPECT_EQ(a[0].output.rgb, b[0].output.rgb);     // first block: same prompt
    EXPECT_NE(a[20].output.rgb, b[20].output.rgb);   // second block: the new prompt
}

TEST(Editor, rejects_invalid_parameters_and_incomplete_packs) {
    Editor editor(tiny_pack(), cpu_settings());
    EditParams p;
    p.strength = 1.5;
    EXPECT_THROW(editor.set_params(p), Error);
    EXPECT_THROW(ModelPack::load("/nonexistent/pack"), Error);
    const std::string broken = tiny_pack().dir + "_broken";
    fs::create_directories(broken);
    fs::copy_file(tiny_pack().dir + "/manifest.json", broken + "/manifest.json",
                  fs::copy_options::overwrite_existing);
    try {
        ModelPack::load(broken);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::NotFound);
        EXPECT_NE(std::string(e.what()).find("dit.safetensors"), std::string::npos) << e.what();
    }
    lipar::test::remove_tree(broken);
    // A head size of zero would divide by zero when the DiT's heads are counted (seen while
    // writing the pack loader's fuzz target).
    ModelPack zero = tiny_pack();
    zero.dir = tiny_pack().dir + "_zero_head";
    fs::create_directories(zero.dir);
    zero.dit_head_dim = 0;
    zero.save();
    try {
        ModelPack::load(zero.dir);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::FormatError);
        EXPECT_NE(std::string(e.what()).find("head_dim"), std::string::npos) << e.what();
    }
    lipar::test::remove_tree(zero.dir);
}

}  // namespace lipar::pipeline
