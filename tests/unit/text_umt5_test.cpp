// The UMT5 encoder on small random configurations: the relative-position buckets against values
// derived by hand from T5's formula, a naive per-head re-implementation of the forward pass,
// masking, weight loading from Hugging Face and Wan layouts (single file, directory, shards).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/device.h"
#include "core/error.h"
#include "core/json.h"
#include "io/safetensors.h"
#include "model/text/prompt_encoder.h"
#include "model/text/umt5.h"
#include "model/text/umt5_weights.h"

namespace fs = std::filesystem;
using namespace lipar::model;

namespace {

Umt5Config small_config() {
    Umt5Config c;
    c.vocab_size = 64;
    c.d_model = 32;
    c.num_heads = 4;
    c.d_kv = 8;
    c.num_layers = 2;
    c.d_ff = 48;
    c.num_buckets = 32;
    c.max_distance = 128;
    return c;
}

torch::Tensor random_ids(int64_t batch, int64_t len, int64_t vocab, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randint(vocab, {batch, len}, gen, torch::kInt64);
}

lipar::io::TensorMap state_dict(torch::nn::Module& m) {
    lipar::io::TensorMap out;
    for (const auto& item : m.named_parameters())
        out[item.key()] = item.value().detach().clone();
    return out;
}

class TempDir {
  public:
    TempDir() {
        static int counter = 0;
        m_path = fs::temp_directory_path() / ("lipar_umt5_test_" + std::to_string(::getpid()) +
                                              "_" + std::to_string(counter++));
        fs::create_directories(m_path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    const fs::path& path() const { return m_path; }

  private:
    fs::path m_path;
};

TEST(Umt5, relative_position_bucket_matches_hand_computed_values) {
    // rel = memory - query; 32 buckets -> 16 per direction, 8 exact, log-spaced up to 128:
    // bucket = 8 + floor(ln(d / 8) / ln(16) * 8), clamped to 15, +16 for positive distances.
    const std::vector<std::pair<int64_t, int64_t>> expected = {
        {0, 0},    {-1, 1},    {1, 17},    {-7, 7},    {7, 23},   {-8, 8},    {8, 24},
        {-12, 9},  {-15, 9},   {15, 25},   {20, 26},   {24, 27},  {-40, 12},  {45, 28},
        {-90, 14}, {-100, 15}, {-127, 15}, {-128, 15}, {128, 31}, {-500, 15}, {1000, 31}};
    std::vector<int64_t> rel;
    for (const auto& [r, b] : expected)
        rel.push_back(r);
    const auto buckets = relative_position_bucket(torch::tensor(rel), 32, 128);
    ASSERT_EQ(buckets.scalar_type(), torch::kInt64);
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(buckets[i].item<int64_t>(), expected[i].second)
            << "distance " << expected[i].first;
    }
}

TEST(Umt5, relative_position_buckets_are_monotonic_and_in_range) {
    const auto rel = torch::arange(-600, 601, torch::kInt64);
    const auto b = relative_position_bucket(rel, 32, 128);
    EXPECT_EQ(b.min().item<int64_t>(), 0);
    EXPECT_EQ(b.max().item<int64_t>(), 31);
    const auto neg = b.slice(0, 0, 601).flip(0);  // distance 0, -1, ..., -600
    const auto pos = b.slice(0, 601);             // distance 1..600
    EXPECT_TRUE(neg.slice(0, 1).ge(neg.slice(0, 0, -1)).all().item<bool>());
    EXPECT_TRUE(pos.slice(0, 1).ge(pos.slice(0, 0, -1)).all().item<bool>());
    EXPECT_TRUE(pos.ge(16).all().item<bool>());
    EXPECT_TRUE(neg.lt(16).all().item<bool>());
}

TEST(Umt5, module_names_follow_hugging_face_with_a_bias_per_layer) {
    Umt5Encoder model(small_config(), torch::kFloat32);
    const auto params = model->named_parameters();
    EXPECT_EQ(params.size(), 1u + 2u * 10u + 1u);
    for (const char* name : {"shared.weight", "encoder.final_layer_norm.weight",
                             "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight",
                             "encoder.block.0.layer.0.SelfAttention.q.weight",
                             "encoder.block.0.layer.0.layer_norm.weight",
                             "encoder.block.1.layer.1.DenseReluDense.wi_0.weight",
                             "encoder.block.1.layer.1.DenseReluDense.wi_1.weight",
                             "encoder.block.1.layer.1.DenseReluDense.wo.weight",
                             "encoder.block.1.layer.1.layer_norm.weight"}) {
        EXPECT_TRUE(params.contains(name)) << name;
    }
    EXPECT_EQ(
        params["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"].sizes(),
        (std::vector<int64_t>{32, 4}));
    EXPECT_EQ(params["encoder.block.0.layer.1.DenseReluDense.wo.weight"].sizes(),
              (std::vector<int64_t>{32, 48}));
    EXPECT_EQ(small_config().parameter_count(), [&] {
        int64_t n = 0;
        for (const auto& p : model->parameters())
            n += p.numel();
        return n;
    }());
}

// A direct transcription of the T5 encoder equations with per-head loops in float64; valid for
// sequences shorter than 8 where every relative distance has its own bucket.
torch::Tensor naive_forward(const lipar::io::TensorMap& w,
                            const Umt5Config& c,
                            const torch::Tensor& ids,
                            const torch::Tensor& mask) {
    auto W = [&](const std::string& name) { return w.at(name).to(torch::kFloat64); };
    auto rms = [&](const torch::Tensor& x, const torch::Tensor& g) {
        return x / torch::sqrt(x.pow(2).mean(-1, true) + c.eps) * g;
    };
    const int64_t L = ids.size(0);
    auto x = W("shared.weight").index_select(0, ids);
    for (int64_t layer = 0; layer < c.num_layers; ++layer) {
        const std::string p = "encoder.block." + std::to_string(layer) + ".layer.";
        auto h = rms(x, W(p + "0.layer_norm.weight"));
        auto bias = W(p + "0.SelfAttention.relative_attention_bias.weight");
        std::vector<torch::Tensor> head_outputs;
        for (int64_t n = 0; n < c.num_heads; ++n) {
            auto rows = [&](const char* m) {
                return W(p + "0.SelfAttention." + m + ".weight")
                    .slice(0, n * c.d_kv, (n + 1) * c.d_kv);
            };
            auto q = h.matmul(rows("q").t()), k = h.matmul(rows("k").t()),
                 v = h.matmul(rows("v").t());
            auto s = q.matmul(k.t());
            for (int64_t i = 0; i < L; ++i) {
                for (int64_t j = 0; j < L; ++j) {
                    const int64_t bucket = j > i ? 16 + (j - i) : i - j;
                    s[i][j] += bias[bucket][n];
                    if (mask[j].item<int64_t>() == 0)
                        s[i][j] = -INFINITY;
                }
            }
            auto e = torch::exp(s - std::get<0>(s.max(1, true)));
            head_outputs.push_back((e / e.sum(1, true)).matmul(v));
        }
        x = x + torch::cat(head_outputs, 1).matmul(W(p + "0.SelfAttention.o.weight").t());
        auto h2 = rms(x, W(p + "1.layer_norm.weight"));
        auto a = h2.matmul(W(p + "1.DenseReluDense.wi_0.weight").t());
        auto gelu = 0.5 * a * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (a + 0.044715 * a.pow(3))));
        x = x + (gelu * h2.matmul(W(p + "1.DenseReluDense.wi_1.weight").t()))
                    .matmul(W(p + "1.DenseReluDense.wo.weight").t());
    }
    return rms(x, W("encoder.final_layer_norm.weight"));
}

TEST(Umt5, forward_matches_a_naive_per_head_transcription) {
    const auto c = small_config();
    auto model = make_random_umt5(c, torch::kFloat32, 7);
    const auto w = state_dict(*model);
    const auto ids = random_ids(2, 7, c.vocab_size, 3);
    auto mask = torch::ones({2, 7}, torch::kInt64);
    mask[1].slice(0, 4).fill_(0);
    const auto out = model->forward(ids, mask);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 7, 32}));
    ASSERT_EQ(out.scalar_type(), torch::kFloat32);
    for (int64_t b = 0; b < 2; ++b) {
        const auto ref = naive_forward(w, c, ids[b], mask[b]);
        EXPECT_LT(lipar::relative_error(out[b], ref), 1e-5) << "batch " << b;
    }
    EXPECT_GT(out.abs().mean().item<double>(), 0.1);  // not trivially zero
}

TEST(Umt5, attention_mask_hides_padding_from_real_rows) {
    const auto c = small_config();
    auto model = make_random_umt5(c, torch::kFloat32, 11);
    auto ids = random_ids(1, 20, c.vocab_size, 5);
    auto mask = torch::ones({1, 20}, torch::kInt64);
    mask.slice(1, 12).fill_(0);
    auto changed = ids.clone();
    changed.slice(1, 12) = (changed.slice(1, 12) + 17) % c.vocab_size;

    const auto a = model->forward(ids, mask), b = model->forward(changed, mask);
    EXPECT_TRUE(torch::allclose(a.slice(1, 0, 12), b.slice(1, 0, 12), 1e-6, 1e-6));
    EXPECT_FALSE(torch::allclose(a.slice(1, 12), b.slice(1, 12), 1e-3, 1e-3));
    // Without the mask the same change reaches the real rows: the mask is what hides it.
    const auto c0 = model->forward(ids), c1 = model->forward(changed);
    EXPECT_FALSE(torch::allclose(c0.slice(1, 0, 12), c1.slice(1, 0, 12), 1e-3, 1e-3));
    // Running only the real tokens gives the same real rows as the masked full-length pass.
    const auto trimmed = model->forward(ids.slice(1, 0, 12));
    EXPECT_LT(lipar::relative_error(trimmed, a.slice(1, 0, 12)), 1e-6);
}

TEST(Umt5, zero_padding_rows_zeroes_exactly_the_padding) {
    auto hidden = torch::randn({2, 5, 3}) + 10;
    auto mask = torch::tensor({1, 1, 1, 0, 0, 1, 0, 0, 0, 0}, torch::kInt64).view({2, 5});
    const auto z = zero_padding_rows(hidden, mask);
    EXPECT_TRUE(torch::equal(z[0].slice(0, 0, 3), hidden[0].slice(0, 0, 3)));
    EXPECT_TRUE(z[0].slice(0, 3).eq(0).all().item<bool>());
    EXPECT_TRUE(torch::equal(z[1][0], hidden[1][0]));
    EXPECT_TRUE(z[1].slice(0, 1).eq(0).all().item<bool>());
    EXPECT_THROW(zero_padding_rows(hidden, mask.slice(1, 0, 4)), lipar::Error);
}

TEST(Umt5, bf16_module_tracks_float32) {
    const auto c = small_config();
    auto f32 = make_random_umt5(c, torch::kFloat32, 13);
    auto bf16 = make_random_umt5(c, torch::kBFloat16, 13);
    const auto ids = random_ids(1, 24, c.vocab_size, 2);
    const auto out = bf16->forward(ids);
    EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
    EXPECT_LT(lipar::relative_error(out, f32->forward(ids)), 3e-2);
}

TEST(Umt5, bad_inputs_and_dtypes_raise_errors) {
    const auto c = small_config();
    auto model = make_random_umt5(c, torch::kFloat32, 1);
    auto code_of = [](auto&& fn) {
        try {
            fn();
        } catch (const lipar::Error& e) {
            return e.code();
        }
        return lipar::StatusCode::Ok;
    };
    using lipar::StatusCode;
    EXPECT_EQ(code_of([&] {
                  model->forward(torch::full({1, 3}, 64, torch::kInt64));
              }),
              StatusCode::InvalidArgument);
    EXPECT_EQ(code_of([&] {
                  model->forward(torch::full({1, 3}, -1, torch::kInt64));
              }),
              StatusCode::InvalidArgument);
    EXPECT_EQ(code_of([&] { model->forward(torch::zeros({3}, torch::kInt64)); }),
              StatusCode::ShapeMismatch);
    EXPECT_EQ(code_of([&] {
                  model->forward(torch::zeros({1, 3}, torch::kInt64), torch::ones({1, 4}));
              }),
              StatusCode::ShapeMismatch);
    EXPECT_EQ(code_of([&] { model->forward(torch::zeros({1, 3})); }), StatusCode::InvalidArgument);
    EXPECT_EQ(code_of([&] { Umt5Encoder half(c, torch::kFloat16); }), StatusCode::Unsupported);
    auto bad = c;
    bad.num_buckets = 3;
    EXPECT_EQ(code_of([&] { Umt5Encoder odd(bad, torch::kFloat32); }), StatusCode::InvalidArgument);
}

TEST(Umt5, release_frees_weights_and_blocks_forward) {
    auto model = make_random_umt5(small_config(), torch::kFloat32, 2);
    model->release();
    EXPECT_TRUE(model->released());
    for (const auto& p : model->parameters())
        EXPECT_EQ(p.numel(), 0);
    EXPECT_THROW(model->forward(torch::zeros({1, 2}, torch::kInt64)), lipar::Error);
}

// ---- weights on disk ----------------------------------------------------------------------

// Hugging Face name -> Wan's T5Encoder name.
std::string wan_name(const std::string& hf) {
    if (hf == "shared.weight")
        return "token_embedding.weight";
    if (hf == "encoder.final_layer_norm.weight")
        return "norm.weight";
    const std::string prefix = "encoder.block.";
    const auto dot = hf.find('.', prefix.size());
    const std::string index = hf.substr(prefix.size(), dot - prefix.size());
    const std::string rest = hf.substr(dot + 1);
    const std::map<std::string, std::string> map = {
        {"layer.0.layer_norm.weight", "norm1.weight"},
        {"layer.0.SelfAttention.q.weight", "attn.q.weight"},
        {"layer.0.SelfAttention.k.weight", "attn.k.weight"},
        {"layer.0.SelfAttention.v.weight", "attn.v.weight"},
        {"layer.0.SelfAttention.o.weight", "attn.o.weight"},
        {"layer.0.SelfAttention.relative_attention_bias.weight", "pos_embedding.embedding.weight"},
        {"layer.1.layer_norm.weight", "norm2.weight"},
        {"layer.1.DenseReluDense.wi_0.weight", "ffn.gate.0.weight"},
        {"layer.1.DenseReluDense.wi_1.weight", "ffn.fc1.weight"},
        {"layer.1.DenseReluDense.wo.weight", "ffn.fc2.weight"}};
    return "blocks." + index + "." + map.at(rest);
}

class Umt5WeightFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        m_config = small_config();
        m_config.num_layers = 3;
        m_model = make_random_umt5(m_config, torch::kFloat32, 21);
        m_ids = random_ids(2, 10, m_config.vocab_size, 9);
        m_mask = torch::ones({2, 10}, torch::kInt64);
        m_mask[1].slice(0, 6).fill_(0);
        m_expected = m_model->forward(m_ids, m_mask);
    }
    void expect_same_model(const std::string& path) {
        SCOPED_TRACE(path);
        const auto weights = read_umt5_weights(path);
        EXPECT_EQ(weights.config.to_string(), m_config.to_string());
        auto loaded = load_umt5_encoder(path, torch::kFloat32);
        EXPECT_TRUE(torch::equal(loaded->forward(m_ids, m_mask), m_expected));
    }

    TempDir m_dir;
    Umt5Config m_config;
    Umt5Encoder m_model{nullptr};
    torch::Tensor m_ids, m_mask, m_expected;
};

TEST_F(Umt5WeightFiles, hugging_face_file_with_tied_embedding_and_decoder_loads) {
    auto w = state_dict(*m_model);
    // UMT5Model checkpoints may save the embedding as encoder.embed_tokens and carry a decoder.
    w["encoder.embed_tokens.weight"] = w.at("shared.weight");
    w.erase("shared.weight");
    w["decoder.block.0.layer.0.SelfAttention.q.weight"] = torch::zeros({4, 4});
    w["lm_head.weight"] = torch::zeros({4, 4});
    const auto path = (m_dir.path() / "model.safetensors").string();
    lipar::io::write_safetensors(path, w);
    expect_same_model(path);
    expect_same_model(m_dir.path().string());  // a directory holding model.safetensors
}

TEST_F(Umt5WeightFiles, wan_names_load_into_the_same_model) {
    lipar::io::TensorMap wan;
    for (auto& [name, tensor] : state_dict(*m_model))
        wan[wan_name(name)] = tensor;
    EXPECT_TRUE(wan.count("blocks.2.ffn.gate.0.weight"));
    const auto canonical = canonical_umt5_weights(wan);
    EXPECT_EQ(canonical.size(), wan.size());
    EXPECT_TRUE(torch::equal(canonical.at("encoder.block.2.layer.1.DenseReluDense.wi_0.weight"),
                             wan.at("blocks.2.ffn.gate.0.weight")));
    const auto path = (m_dir.path() / "wan_names.safetensors").string();
    lipar::io::write_safetensors(path, wan);
    expect_same_model(path);
}

TEST_F(Umt5WeightFiles, sharded_index_loads_and_skips_decoder_shards) {
    auto w = state_dict(*m_model);
    lipar::io::TensorMap first, second;
    lipar::Json map = lipar::Json::object();
    for (auto& [name, tensor] : w) {
        const bool early =
            name.rfind("encoder.block.2", 0) != 0 && name != "encoder.final_layer_norm.weight";
        (early ? first : second)[name] = tensor;
        map.set(name,
                early ? "model-00001-of-00003.safetensors" : "model-00002-of-00003.safetensors");
    }
    lipar::io::write_safetensors((m_dir.path() / "model-00001-of-00003.safetensors").string(),
                                 first);
    lipar::io::write_safetensors((m_dir.path() / "model-00002-of-00003.safetensors").string(),
                                 second);
    // The decoder shard is corrupt: it must never be opened.
    std::ofstream(m_dir.path() / "model-00003-of-00003.safetensors") << "garbage";
    map.set("decoder.final_layer_norm.weight", "model-00003-of-00003.safetensors");
    lipar::Json index = lipar::Json::object();
    index.set("metadata", lipar::Json::object()).set("weight_map", map);
    const auto index_path = m_dir.path() / "model.safetensors.index.json";
    std::ofstream(index_path) << index.dump(2);
    std::ofstream(m_dir.path() / "config.json")
        << R"({"model_type": "umt5", "feed_forward_proj": "gated-gelu",
              "relative_attention_max_distance": 128, "layer_norm_epsilon": 1e-06})";
    expect_same_model(index_path.string());
    expect_same_model(m_dir.path().string());
}

TEST_F(Umt5WeightFiles, foreign_or_incomplete_weights_are_rejected_with_names) {
    auto w = state_dict(*m_model);
    // T5 (not UMT5): only block 0 carries a relative position bias.
    auto t5 = w;
    t5.erase("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight");
    t5.erase("encoder.block.2.layer.0.SelfAttention.relative_attention_bias.weight");
    try {
        detect_umt5_config(t5);
        FAIL() << "expected Unsupported";
    } catch (const lipar::Error& e) {
        EXPECT_EQ(e.code(), lipar::StatusCode::Unsupported);
    }
    auto missing = w;
    missing.erase("encoder.block.1.layer.1.DenseReluDense.wo.weight");
    const auto path = (m_dir.path() / "missing.safetensors").string();
    lipar::io::write_safetensors(path, missing);
    try {
        load_umt5_encoder(path, torch::kFloat32);
        FAIL() << "expected an error";
    } catch (const lipar::Error& e) {
        EXPECT_NE(std::string(e.what()).find("encoder.block.1.layer.1.DenseReluDense.wo.weight"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_THROW(read_umt5_weights((m_dir.path() / "absent.safetensors").string()), lipar::Error);
}

// Fixtures from tests/data/make_wan_umt5_checkpoint.py: the same tiny encoder as a Wan-style
// torch.save file (bf16 storages, Wan names) and as Hugging Face-named F32 safetensors.
TEST(Umt5WanCheckpoint, wan_pth_and_hugging_face_safetensors_give_the_same_encoder) {
    const std::string data = LIPAR_TEST_DATA_DIR;
    const auto wan = read_umt5_weights(data + "/wan_umt5_tiny.pth");
    EXPECT_EQ(wan.config.vocab_size, 32);
    EXPECT_EQ(wan.config.d_model, 16);
    EXPECT_EQ(wan.config.num_heads, 2);
    EXPECT_EQ(wan.config.d_kv, 8);
    EXPECT_EQ(wan.config.num_layers, 2);
    EXPECT_EQ(wan.config.d_ff, 24);
    EXPECT_EQ(wan.config.num_buckets, 32);
    EXPECT_EQ(wan.tensors.at("encoder.block.1.layer.1.DenseReluDense.wi_0.weight").scalar_type(),
              torch::kBFloat16);

    auto from_pth = load_umt5_encoder(data + "/wan_umt5_tiny.pth", torch::kFloat32);
    auto from_hf = load_umt5_encoder(data + "/wan_umt5_tiny_hf.safetensors", torch::kFloat32);
    const auto ids = random_ids(2, 40, 32, 4);
    auto mask = torch::ones({2, 40}, torch::kInt64);
    mask[0].slice(0, 25).fill_(0);
    const auto a = from_pth->forward(ids, mask);
    EXPECT_TRUE(torch::equal(a, from_hf->forward(ids, mask)));
    EXPECT_GT(a.abs().mean().item<double>(), 0.1);
}

TEST(Umt5WanCheckpoint, cli_tensor_t5_matches_the_library) {
    const std::string data = LIPAR_TEST_DATA_DIR;
    TempDir dir;
    const auto ids = random_ids(2, 30, 32, 8);
    auto mask = torch::ones({2, 30}, torch::kInt64);
    mask[1].slice(0, 11).fill_(0);
    const auto in = (dir.path() / "in.safetensors").string();
    const auto out = (dir.path() / "out.safetensors").string();
    lipar::io::write_safetensors(in, {{"ids", ids}, {"mask", mask}});
    const std::string command = std::string(LIPAR_CLI_PATH) + " tensor t5 --weights " + data +
                                "/wan_umt5_tiny.pth --in " + in + " --out " + out +
                                " > /dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    const auto hidden = lipar::io::read_safetensors(out).at("hidden");
    auto model = load_umt5_encoder(data + "/wan_umt5_tiny.pth", torch::kFloat32);
    EXPECT_EQ(hidden.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(hidden, model->forward(ids, mask)));
}

}  // namespace
