// Loading UMT5 weights: Hugging Face safetensors (single file with tied embedding and decoder,
// directory, sharded index that skips decoder shards), Wan's names, the stdlib-written Wan-style
// .pth fixture, rejection of T5 / incomplete weights, and `lipar tensor t5` end to end.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/json.h"
#include "io/safetensors.h"
#include "io_test_util.h"
#include "model/text/umt5_weights.h"
#include "text_test_util.h"

using namespace lipar::model;
using lipar::test::random_ids;
using lipar::test::small_config;
using lipar::test::state_dict;
using lipar::test::TempDir;

namespace {

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
    // The CLI may run other BLAS kernels than this test process (lipar/cpu_tuning.h): the same
    // function up to float32 rounding.
    EXPECT_TRUE(torch::allclose(hidden, model->forward(ids, mask), 1e-5, 1e-6));
}

}  // namespace
