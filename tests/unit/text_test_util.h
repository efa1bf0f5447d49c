#pragma once
// Shared by the text-encoder tests: a tiny SentencePiece unigram model (vocab 300, umt5's special
// ids: pad 0, eos 1, unk 3, no bos) trained once per test process from tests/data/spm_corpus.txt
// with the Debian `spm_train` tool, and removed at exit.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "model/text/tokenizer.h"

namespace lipar::test {

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
        std::error_code ec;
        if (!m_dir.empty())
            std::filesystem::remove_all(m_dir, ec);
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
