// Prompt text clean-up (Wan's ftfy + html.unescape x2 + whitespace handling) and the SentencePiece
// tokenizer reached through the run-time-loaded shim. A tiny unigram model is trained from
// tests/data/spm_corpus.txt with spm_train (skipped when the Debian sentencepiece tools or the
// shim are missing). That this binary, which links LibTorch, runs at all also proves the shim
// keeps sentencepiece's protobuf away from LibTorch's.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/error.h"
#include "model/text/text_clean.h"
#include "model/text/tokenizer.h"
#include "text_test_util.h"

namespace fs = std::filesystem;
using lipar::model::clean_prompt;
using lipar::model::collapse_whitespace;
using lipar::model::fix_text;
using lipar::model::html_unescape;
using lipar::model::Tokenizer;

namespace {

// Expected values computed with CPython's html.unescape.
TEST(TextClean, html_unescape_matches_python_for_common_references) {
    EXPECT_EQ(html_unescape("Tom &amp; Jerry"), "Tom & Jerry");
    EXPECT_EQ(html_unescape("&lt;b&gt;bold&lt;/b&gt;"), "<b>bold</b>");
    EXPECT_EQ(html_unescape("say &quot;hi&quot; &#39;there&#39;"), "say \"hi\" 'there'");
    EXPECT_EQ(html_unescape("&#x41;&#66;&#x1F600;"), "AB\xF0\x9F\x98\x80");
    EXPECT_EQ(html_unescape("&amp;amp;lt;"), "&amp;lt;");
    EXPECT_EQ(html_unescape("&ampfoo &amp"), "&foo &");
    EXPECT_EQ(html_unescape("&#128; &#0; &#xD800; &#1;x &#150;"),
              "\xE2\x82\xAC \xEF\xBF\xBD \xEF\xBF\xBD x \xE2\x80\x93");
    EXPECT_EQ(html_unescape("&copy2024"),
              "\xC2\xA9"
              "2024");
    EXPECT_EQ(html_unescape("&notit;"),
              "\xC2\xAC"
              "it;");
    EXPECT_EQ(html_unescape("&unknown; & alone &# &#x;"), "&unknown; & alone &# &#x;");
    EXPECT_EQ(html_unescape("caf&eacute; na&iuml;ve"), "caf\xC3\xA9 na\xC3\xAFve");
    EXPECT_EQ(html_unescape("&#65x"), "Ax");
    EXPECT_EQ(html_unescape("&#99999999999999999999;"), "\xEF\xBF\xBD");
}

TEST(TextClean, clean_prompt_unescapes_twice_and_collapses_whitespace) {
    EXPECT_EQ(clean_prompt("  A &amp;amp; B \t\n\n  cat&nbsp;&nbsp;dog  "), "A & B cat dog");
    // Two passes of html.unescape (ftfy's pre-pass is skipped because of the literal '<').
    EXPECT_EQ(clean_prompt("a < b &amp;amp;amp; c"), "a < b &amp; c");
    EXPECT_EQ(collapse_whitespace("\xE3\x80\x80x\xE2\x80\x83\xE2\x80\x83y\r\n"), "x y");
    EXPECT_EQ(clean_prompt(""), "");
    EXPECT_EQ(clean_prompt(" \t "), "");
}

TEST(TextClean, fix_text_straightens_quotes_and_drops_controls) {
    EXPECT_EQ(fix_text("\xE2\x80\x9CHello\xE2\x80\x9D it\xE2\x80\x99s"), "\"Hello\" it's");
    EXPECT_EQ(fix_text("a\x01"
                       "b\x1B[31mred\x1B[0m"),
              "abred");
    // A C1 control is read as Windows-1252 (0x93 is a left double quote, then straightened).
    EXPECT_EQ(fix_text("\xC2\x93quoted\xC2\x94"), "\"quoted\"");
    // Invalid UTF-8 never crashes; each bad byte becomes U+FFFD.
    EXPECT_EQ(fix_text("\xFF\xFE"
                       "abc"),
              "\xEF\xBF\xBD\xEF\xBF\xBD"
              "abc");
    EXPECT_EQ(fix_text("\xE2\x82"), "\xEF\xBF\xBD");
}

// ---- the tokenizer -------------------------------------------------------------------------

class TokenizerTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        const auto& model = lipar::test::TrainedSpmModel::get();
        if (model.path().empty())
            return;
        s_dir = fs::path(model.path()).parent_path();
        s_tokenizer = std::make_unique<Tokenizer>(model.path());
    }
    static void TearDownTestSuite() { s_tokenizer.reset(); }
    void SetUp() override {
        const auto& model = lipar::test::TrainedSpmModel::get();
        if (model.path().empty())
            GTEST_SKIP() << model.skip_reason();
    }

    static std::string model_path() { return lipar::test::TrainedSpmModel::get().path(); }

    static inline fs::path s_dir;
    static inline std::unique_ptr<Tokenizer> s_tokenizer;
};

TEST_F(TokenizerTest, special_ids_match_umt5_layout) {
    EXPECT_EQ(s_tokenizer->vocab_size(), 300);
    EXPECT_EQ(s_tokenizer->pad_id(), 0);
    EXPECT_EQ(s_tokenizer->eos_id(), 1);
    EXPECT_EQ(s_tokenizer->unk_id(), 3);
    EXPECT_EQ(s_tokenizer->id_to_piece(1), "</s>");
}

TEST_F(TokenizerTest, corpus_sentence_round_trips_through_pieces) {
    const std::string text = "A small orange cat walks slowly along the beach at sunset.";
    const auto ids = s_tokenizer->encode(text);
    ASSERT_GT(ids.size(), 3u);
    for (int32_t id : ids) {
        EXPECT_GE(id, 0);
        EXPECT_LT(id, 300);
        EXPECT_NE(id, s_tokenizer->unk_id());
    }
    EXPECT_EQ(s_tokenizer->decode(ids), text);
    std::string joined;
    for (int32_t id : ids)
        joined += s_tokenizer->id_to_piece(id);
    // Pieces mark word starts with U+2581.
    std::string expected;
    for (char c : " " + text)
        expected += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
    EXPECT_EQ(joined, expected);
}

TEST_F(TokenizerTest, encoding_matches_the_spm_encode_tool) {
    if (std::string(LIPAR_SPM_ENCODE).empty())
        GTEST_SKIP() << "spm_encode not found";
    const std::string text = "Turn the video into a watercolor painting of the city at night";
    const std::string command = "echo '" + text + "' | " + LIPAR_SPM_ENCODE +
                                " --model=" + model_path() + " --output_format=id";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[256];
    while (std::fgets(buffer, sizeof(buffer), pipe))
        output += buffer;
    ASSERT_EQ(::pclose(pipe), 0);
    std::string ours;
    for (int32_t id : s_tokenizer->encode(text))
        ours += (ours.empty() ? "" : " ") + std::to_string(id);
    EXPECT_EQ(ours + "\n", output);
}

TEST_F(TokenizerTest, tokenize_appends_eos_and_pads_to_text_len) {
    const auto raw = s_tokenizer->encode("A red car drives at night.");
    const auto t = s_tokenizer->tokenize("A red car drives at night.", 512);
    ASSERT_EQ(t.ids.sizes(), (std::vector<int64_t>{512}));
    ASSERT_EQ(t.mask.sizes(), (std::vector<int64_t>{512}));
    EXPECT_EQ(t.ids.scalar_type(), torch::kInt64);
    ASSERT_EQ(t.length, static_cast<int64_t>(raw.size()) + 1);
    for (size_t i = 0; i < raw.size(); ++i)
        EXPECT_EQ(t.ids[i].item<int64_t>(), raw[i]);
    EXPECT_EQ(t.ids[t.length - 1].item<int64_t>(), 1);
    EXPECT_TRUE(t.ids.slice(0, 0, t.length).ne(0).all().item<bool>());
    EXPECT_TRUE(t.ids.slice(0, t.length, 512).eq(0).all().item<bool>());
    EXPECT_EQ(t.mask.sum().item<int64_t>(), t.length);
    EXPECT_TRUE(t.mask.slice(0, 0, t.length).eq(1).all().item<bool>());
}

TEST_F(TokenizerTest, truncation_keeps_eos_in_the_last_slot) {
    std::string prompt;
    for (int i = 0; i < 40; ++i)
        prompt += "A black horse gallops across a misty meadow at dawn. ";
    const auto raw = s_tokenizer->encode(clean_prompt(prompt));
    ASSERT_GT(raw.size(), 600u);
    const auto t = s_tokenizer->tokenize(prompt, 512);
    EXPECT_EQ(t.length, 512);
    EXPECT_EQ(t.mask.sum().item<int64_t>(), 512);
    EXPECT_EQ(t.ids[511].item<int64_t>(), 1);
    for (int64_t i = 0; i < 511; i += 37)
        EXPECT_EQ(t.ids[i].item<int64_t>(), raw[i]);
    EXPECT_EQ(t.ids[510].item<int64_t>(), raw[510]);

    const auto tiny = s_tokenizer->tokenize(prompt, 1);
    EXPECT_EQ(tiny.ids.item<int64_t>(), 1);
    EXPECT_THROW(s_tokenizer->tokenize(prompt, 0), lipar::Error);
}

TEST_F(TokenizerTest, tokenize_cleans_the_prompt_first) {
    const auto a = s_tokenizer->tokenize("  A cat &amp;   a dog\n on the &quot;beach&quot; ", 64);
    const auto b = s_tokenizer->tokenize("A cat & a dog on the \"beach\"", 64);
    EXPECT_TRUE(torch::equal(a.ids, b.ids));
    EXPECT_EQ(a.length, b.length);
    const auto empty = s_tokenizer->tokenize("   ", 8);
    EXPECT_EQ(empty.length, 1);
    EXPECT_EQ(empty.ids[0].item<int64_t>(), 1);
}

TEST_F(TokenizerTest, missing_or_corrupt_model_files_raise_clear_errors) {
    try {
        Tokenizer missing((s_dir / "nope.model").string());
        FAIL() << "expected an error";
    } catch (const lipar::Error& e) {
        EXPECT_EQ(e.code(), lipar::StatusCode::NotFound);
        EXPECT_NE(std::string(e.what()).find("nope.model"), std::string::npos);
    }
    const auto corrupt = s_dir / "corrupt.model";
    std::ofstream(corrupt) << "this is not a protobuf";
    try {
        Tokenizer bad(corrupt.string());
        FAIL() << "expected an error";
    } catch (const lipar::Error& e) {
        EXPECT_EQ(e.code(), lipar::StatusCode::FormatError);
    }
}

TEST_F(TokenizerTest, out_of_range_ids_are_rejected) {
    EXPECT_THROW(s_tokenizer->id_to_piece(300), lipar::Error);
    EXPECT_THROW(s_tokenizer->decode({5, -1}), lipar::Error);
}

// Only meaningful in builds without the shim (e.g. no libsentencepiece-dev): the tokenizer must
// refuse with Unsupported so that callers fall back to precomputed embeddings.
TEST(TokenizerWithoutShim, construction_reports_unsupported_when_the_shim_is_missing) {
    std::string why;
    if (Tokenizer::available(&why))
        GTEST_SKIP() << "the shim is available in this build";
    EXPECT_NE(why.find("liblipar_spm.so"), std::string::npos);
    try {
        Tokenizer tokenizer("/nonexistent/spiece.model");
        FAIL() << "expected Unsupported";
    } catch (const lipar::Error& e) {
        EXPECT_EQ(e.code(), lipar::StatusCode::Unsupported);
    }
}

}  // namespace
