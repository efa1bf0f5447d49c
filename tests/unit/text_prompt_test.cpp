// Prompt embeddings: the prompt encoder (tokenize -> UMT5 on the real tokens -> zero padding rows)
// and the two-tier prompt cache (memory LRU, safetensors files on disk).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "io/safetensors.h"
#include "model/text/prompt_cache.h"
#include "model/text/prompt_encoder.h"
#include "pipeline/prompt_conditioner.h"
#include "text_test_util.h"
#include "common/remove_tree.h"

namespace fs = std::filesystem;
using namespace lipar::model;

namespace {

class CacheDir {
  public:
    CacheDir() {
        static int counter = 0;
        m_path = fs::temp_directory_path() / ("lipar_prompt_cache_" + std::to_string(::getpid()) +
                                              "_" + std::to_string(counter++));
    }
    ~CacheDir() {
        lipar::test::remove_tree(m_path);
    }
    std::string str() const { return m_path.string(); }

  private:
    fs::path m_path;
};

// A fake embedding: `rows` rows of distinct values, the rest zero, as the prompt encoder returns.
torch::Tensor fake_embedding(int64_t text_len,
                             int64_t rows,
                             double base,
                             torch::Dtype dtype = torch::kFloat32) {
    auto e = torch::zeros({text_len, 8}, torch::kFloat32);
    e.slice(0, 0, rows) = torch::arange(rows * 8, torch::kFloat32).view({rows, 8}) + base;
    return e.to(dtype);
}

PromptCacheOptions options_in(const CacheDir& dir, size_t memory_entries = 16) {
    PromptCacheOptions o;
    o.directory = dir.str();
    o.memory_entries = memory_entries;
    return o;
}

TEST(PromptCache, repeated_prompt_comes_from_memory_then_from_disk) {
    CacheDir dir;
    int computed = 0;
    auto compute = [&] {
        ++computed;
        return fake_embedding(32, 5, 1.0, torch::kBFloat16);
    };
    {
        PromptCache cache("pack-a", 32, options_in(dir));
        const auto first = cache.get_or_compute("a cat on the beach", compute);
        const auto second = cache.get_or_compute("  a cat   on the beach ", compute);
        EXPECT_EQ(computed, 1);
        EXPECT_TRUE(torch::equal(first, second));
        EXPECT_EQ(cache.stats().misses, 1);
        EXPECT_EQ(cache.stats().memory_hits, 1);
        // Only the 5 non-padding rows are stored.
        const auto header =
            lipar::io::read_safetensors_header(cache.file_path("a cat on the beach"));
        ASSERT_EQ(header.tensors.size(), 1u);
        EXPECT_EQ(header.tensors[0].shape, (std::vector<int64_t>{5, 8}));
        EXPECT_EQ(header.metadata.at("prompt"), "a cat on the beach");
    }
    PromptCache reopened("pack-a", 32, options_in(dir));
    const auto from_disk = reopened.get_or_compute("a cat on the beach", compute);
    EXPECT_EQ(computed, 1);
    EXPECT_EQ(reopened.stats().disk_hits, 1);
    EXPECT_EQ(from_disk.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::equal(from_disk, fake_embedding(32, 5, 1.0, torch::kBFloat16)));
}

TEST(PromptCache, key_covers_pack_text_len_and_normalized_prompt) {
    CacheDir dir;
    PromptCache a("pack-a", 512, options_in(dir));
    PromptCache b("pack-b", 512, options_in(dir));
    PromptCache short_len("pack-a", 256, options_in(dir));
    EXPECT_EQ(a.key("a &amp; b\n"), a.key("a & b"));
    EXPECT_EQ(a.key("x").size(), 32u);
    EXPECT_NE(a.key("a cat"), a.key("a dog"));
    EXPECT_NE(a.key("a cat"), b.key("a cat"));
    EXPECT_NE(a.key("a cat"), short_len.key("a cat"));
}

// A pack's text encoder replaced in place (a retrained pack installed over the old one) must not
// be served the old encoder's cached embeddings: the cache key covers the files' identity.
TEST(PromptCache, text_weights_replaced_in_place_change_the_cache_identity) {
    CacheDir dir;
    const fs::path pack = fs::path(dir.str()) / "pack";
    fs::create_directories(pack);
    const fs::path weights = pack / "text_encoder.safetensors";
    const fs::path tokenizer = pack / "spiece.model";
    auto write = [](const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; };
    write(weights, "old weights");
    write(tokenizer, "tokenizer");
    const auto before = lipar::pipeline::text_files_identity({weights.string(), tokenizer.string()});
    EXPECT_EQ(before, lipar::pipeline::text_files_identity({weights.string(), tokenizer.string()}));
    // Same size, newer file.
    write(weights, "new weights");
    fs::last_write_time(weights, fs::last_write_time(weights) + std::chrono::seconds(5));
    const auto same_size = lipar::pipeline::text_files_identity({weights.string(), tokenizer.string()});
    EXPECT_NE(before, same_size);
    // Another size.
    write(weights, "retrained weights, longer");
    EXPECT_NE(same_size, lipar::pipeline::text_files_identity({weights.string(), tokenizer.string()}));
    // A folder (Hugging Face layout) is identified by every file in it.
    const auto folder = lipar::pipeline::text_files_identity({pack.string()});
    write(pack / "model-00002-of-00002.safetensors", "shard");
    EXPECT_NE(folder, lipar::pipeline::text_files_identity({pack.string()}));
    PromptCache a("nano|" + before, 24, options_in(dir));
    PromptCache b("nano|" + same_size, 24, options_in(dir));
    EXPECT_NE(a.key("negative"), b.key("negative"));
}

TEST(PromptCache, corrupt_or_foreign_files_are_recomputed_with_a_warning) {
    CacheDir dir;
    int computed = 0;
    std::vector<std::string> warnings;
    const int listener = lipar::add_log_listener([&](lipar::LogLevel level, const std::string& m) {
        if (level == lipar::LogLevel::Warn)
            warnings.push_back(m);
    });
    {
        PromptCache cache("pack", 16, options_in(dir, 0));
        fs::create_directories(dir.str());
        std::ofstream(cache.file_path("prompt one"), std::ios::binary) << "not a safetensors file";
        const auto e = cache.get_or_compute("prompt one", [&] {
            ++computed;
            return fake_embedding(16, 3, 2.0);
        });
        EXPECT_EQ(computed, 1);
        EXPECT_EQ(cache.stats().ignored_files, 1);
        EXPECT_TRUE(torch::equal(e, fake_embedding(16, 3, 2.0)));
        // The rewritten file is now valid.
        cache.get_or_compute("prompt one", [&] {
            ++computed;
            return fake_embedding(16, 3, 2.0);
        });
        EXPECT_EQ(computed, 1);

        // A valid file of another prompt under this prompt's name (a collision or a stale entry).
        fs::copy_file(cache.file_path("prompt one"), cache.file_path("prompt two"),
                      fs::copy_options::overwrite_existing);
        const auto two = cache.get_or_compute("prompt two", [&] {
            ++computed;
            return fake_embedding(16, 4, 9.0);
        });
        EXPECT_EQ(computed, 2);
        EXPECT_TRUE(torch::equal(two, fake_embedding(16, 4, 9.0)));
    }
    lipar::remove_log_listener(listener);
    ASSERT_EQ(warnings.size(), 2u);
    EXPECT_NE(warnings[0].find("prompt cache"), std::string::npos);
}

TEST(PromptCache, memory_tier_evicts_the_least_recently_used) {
    CacheDir dir;
    PromptCacheOptions o = options_in(dir, 2);
    o.use_disk = false;
    PromptCache cache("pack", 8, o);
    int computed = 0;
    auto get = [&](const std::string& p) {
        cache.get_or_compute(p, [&] {
            ++computed;
            return fake_embedding(8, 2, 0.0);
        });
    };
    get("a");
    get("b");
    get("a");  // a is now the most recent
    get("c");  // evicts b
    EXPECT_EQ(computed, 3);
    get("a");
    EXPECT_EQ(computed, 3);
    get("b");
    EXPECT_EQ(computed, 4);
    EXPECT_FALSE(fs::exists(dir.str()));  // disk tier off: nothing written
}

TEST(PromptCache, wrong_shapes_and_unwritable_directories_are_handled) {
    CacheDir dir;
    PromptCache cache("pack", 8, options_in(dir));
    EXPECT_THROW(cache.get_or_compute("p", [] { return torch::zeros({7, 4}); }), lipar::Error);

    PromptCacheOptions o;
    o.directory = "/dev/null/lipar-prompts";  // cannot be created
    PromptCache unwritable("pack", 8, o);
    const auto e = unwritable.get_or_compute("p", [] { return fake_embedding(8, 2, 1.0); });
    EXPECT_TRUE(torch::equal(e, fake_embedding(8, 2, 1.0)));
    EXPECT_EQ(unwritable.stats().misses, 1);
}

TEST(PromptCache, default_directory_follows_xdg) {
    const char* old = std::getenv("XDG_CACHE_HOME");
    const std::string saved = old ? old : "";
    ::setenv("XDG_CACHE_HOME", "/some/cache", 1);
    EXPECT_EQ(default_prompt_cache_directory(), "/some/cache/lipar-studio/prompts");
    if (old) {
        ::setenv("XDG_CACHE_HOME", saved.c_str(), 1);
    } else {
        ::unsetenv("XDG_CACHE_HOME");
    }
}

// ---- the prompt encoder (needs the trained SentencePiece model) -------------------------------

class PromptEncoderTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto& model = lipar::test::TrainedSpmModel::get();
        if (model.path().empty())
            GTEST_SKIP() << model.skip_reason();
        m_tokenizer = std::make_shared<Tokenizer>(model.path());
        m_config.vocab_size = 300;
        m_config.d_model = 32;
        m_config.num_heads = 4;
        m_config.d_kv = 8;
        m_config.num_layers = 2;
        m_config.d_ff = 64;
    }
    std::shared_ptr<Tokenizer> m_tokenizer;
    Umt5Config m_config;
};

TEST_F(PromptEncoderTest, embedding_equals_masked_full_pass_with_zero_padding) {
    auto umt5 = make_random_umt5(m_config, torch::kFloat32, 5);
    PromptEncoder encoder(m_tokenizer, umt5, 64);
    const std::string prompt = "A small orange cat walks along the beach at sunset.";
    const auto embedding = encoder.encode(prompt);
    ASSERT_EQ(embedding.sizes(), (std::vector<int64_t>{64, 32}));

    const auto tokens = m_tokenizer->tokenize(prompt, 64);
    ASSERT_GT(tokens.length, 5);
    ASSERT_LT(tokens.length, 64);
    const auto full = zero_padding_rows(
        umt5->forward(tokens.ids.unsqueeze(0), tokens.mask.unsqueeze(0)), tokens.mask.unsqueeze(0));
    EXPECT_LT(lipar::relative_error(embedding, full[0]), 1e-6);
    EXPECT_TRUE(embedding.slice(0, tokens.length).eq(0).all().item<bool>());
    EXPECT_TRUE(embedding.slice(0, 0, tokens.length).ne(0).any(1).all().item<bool>());
}

TEST_F(PromptEncoderTest, tokenizer_larger_than_the_embedding_is_rejected) {
    auto config = m_config;
    config.vocab_size = 100;
    try {
        PromptEncoder encoder(m_tokenizer, make_random_umt5(config, torch::kFloat32, 1), 64);
        FAIL() << "expected ShapeMismatch";
    } catch (const lipar::Error& e) {
        EXPECT_EQ(e.code(), lipar::StatusCode::ShapeMismatch);
    }
}

}  // namespace
