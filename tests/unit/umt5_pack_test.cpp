// A model pack whose prompts go through the real text path: SentencePiece tokenizer + UMT5 with the
// published tensor names (random, reduced), the disk prompt cache, then the editor.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/device.h"
#include "core/error.h"
#include "media/video_source.h"
#include "pipeline/editor.h"
#include "pipeline/random_pack.h"
#include "text_test_util.h"
#include "common/remove_tree.h"

namespace lipar::pipeline {

namespace fs = std::filesystem;

TEST(Umt5Pack, a_umt5_pack_encodes_prompts_caches_them_on_disk_and_edits_a_clip) {
if (!std::filesystem::exists(LIPAR_TEST_CLIP))
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    const auto& spm = test::TrainedSpmModel::get();
    if (spm.path().empty()) GTEST_SKIP() << spm.skip_reason();
    use_all_cpu_threads();
    const fs::path root = fs::temp_directory_path() / ("lipar_umt5_pack_" + std::to_string(::getpid()));
    RandomPackOptions o;
    o.config = "tiny";
    o.out = (root / "pack").string();
    o.text = "umt5:" + spm.path();
    const auto pack = write_random_pack(o);
    ASSERT_EQ(pack.text_kind, "umt5");
    EditorSettings s;
    s.width = 128;
    s.height = 64;
    s.prompt_cache_dir = (root / "cache").string();
    Editor editor(pack, s);
    auto frames = media::read_video_frames(
        LIPAR_TEST_CLIP, 12);
    auto run_on = [&](Editor& ed, const std::string& prompt) {
        EditParams p;
        p.prompt = prompt;
        p.mode = EditMode::Off;
        ed.reset();
        ed.set_params(p);
        std::vector<EditedFrame> out;
        for (const auto& f : frames) {
            auto o2 = ed.push(f);
            out.insert(out.end(), o2.begin(), o2.end());
        }
        return out;
    };
    auto a = run_on(editor, "a red fox in the snow");
    auto b = run_on(editor, "a blue whale in the sea");
    ASSERT_EQ(a.size(), 9u);
    EXPECT_NE(a.back().output.rgb, b.back().output.rgb);  // the prompt reaches the DiT
    int cached = 0;
    for (const auto& e : fs::directory_iterator(root / "cache")) cached += e.is_regular_file();
    EXPECT_EQ(cached, 2);  // one embedding file per prompt
    EXPECT_NE(editor.text_summary().find("UMT5: 2 prompt(s) encoded"), std::string::npos)
        << editor.text_summary();
    // A second editor on the same pack takes both prompts from the disk cache: no UMT5 run.
    Editor again(pack, s);
    const auto a2 = run_on(again, "a red fox in the snow");
    ASSERT_EQ(a2.size(), a.size());
    EXPECT_EQ(a2.back().output.rgb, a.back().output.rgb);
    EXPECT_NE(again.text_summary().find("UMT5: 0 prompt(s) encoded"), std::string::npos)
        << again.text_summary();
    EXPECT_NE(again.text_summary().find("1 from the disk cache"), std::string::npos)
        << again.text_summary();
    lipar::test::remove_tree(root);
}

TEST(Umt5Pack, a_missing_tokenizer_is_named_when_the_pack_is_made) {
    RandomPackOptions o;
    o.out = (fs::temp_directory_path() / "lipar_umt5_pack_missing").string();
    o.text = "umt5:/nonexistent/spiece.model";
    try {
        write_random_pack(o);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/spiece.model"), std::string::npos);
    }
    lipar::test::remove_tree(o.out);
}

}  // namespace lipar::pipeline
