#pragma once
// Shared by the text-encoder tests: a small UMT5 configuration and helpers, and a tiny
// SentencePiece unigram model (vocab 300, umt5's special ids: pad 0, eos 1, unk 3, no bos) trained
// once per test process from tests/data/spm_corpus.txt with the Debian `spm_train` tool, and
// removed at exit.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <ATen/CPUGeneratorImpl.h>

#include "io/tensor_map.h"
#include "model/text/tokenizer.h"
#include "model/text/umt5.h"
#include "common/remove_tree.h"

namespace lipar::test {

// vocab 64, d_model 32, 4 heads x 8, 2 layers, d_ff 48, 32 buckets.
inline lipar::model::Umt5Config small_config() {
    lipar::model::Umt5Config c;
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

inline torch::Tensor random_ids(int64_t batch, int64_t len, int64_t vocab, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randint(vocab, {batch, len}, gen, torch::kInt64);
}

inline lipar::io::TensorMap state_dict(torch::nn::Module& m) {
    lipar::io::TensorMap out;
    for (const auto& item : m.named_parameters())
        out[item.key()] = item.value().detach().clone();
    return out;
}

class TrainedSpmModel {
  public:
    // The model path, or "" with `skip_reason()` saying why it is unavailable.
    static const TrainedSpmModel& get() {
        static const TrainedSpmModel instance;
        return instance;
    }
    const std::string& path() const { return m_path; }
    const std::string& skip_reason() const { return m_skip; }

    TrainedSpmModel(const TrainedSpmModel&) = delete;
    TrainedSpmModel& operator=(const TrainedSpmModel&) = delete;
    ~TrainedSpmModel() {
        if (!m_dir.empty())
            remove_tree(m_dir);
    }

  private:
    TrainedSpmModel() {
        std::string why;
        if (std::string(LIPAR_SPM_TRAIN).empty()) {
            m_skip = "spm_train not found (apt install sentencepiece)";
            return;
        }
        if (!lipar::model::Tokenizer::available(&why)) {
            m_skip = "SentencePiece shim unavailable: " + why;
            return;
        }
        m_dir = std::filesystem::temp_directory_path() /
                ("lipar_spm_test_" + std::to_string(::getpid()));
        std::filesystem::create_directories(m_dir);
        const std::string corpus = std::string(LIPAR_TEST_DATA_DIR) + "/spm_corpus.txt";
        const std::string command = std::string(LIPAR_SPM_TRAIN) + " --input=" + corpus +
                                    " --model_prefix=" + (m_dir / "spm").string() +
                                    " --vocab_size=300 --model_type=unigram --pad_id=0"
                                    " --eos_id=1 --unk_id=3 --bos_id=-1 --num_threads=1"
                                    " --minloglevel=2 > /dev/null 2>&1";
        if (std::system(command.c_str()) != 0) {
            m_skip = "spm_train failed: " + command;
            return;
        }
        m_path = (m_dir / "spm.model").string();
    }

    std::filesystem::path m_dir;
    std::string m_path;
    std::string m_skip;
};

}  // namespace lipar::test
