#pragma once
// The prompt tokenizer: a SentencePiece unigram model (google/umt5-xxl's spiece.model for Wan)
// plus Wan's text handling (text_clean.h), EOS appended, truncated/padded to text_len.
//
// SentencePiece is reached through a shim library loaded at run time (spm_library.h): without it
// the constructor throws Error(Unsupported) and callers fall back to precomputed prompt
// embeddings. Thread-safe: a Tokenizer may be shared; calls are serialized internally.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct lipar_spm;

namespace lipar::model {

struct SpmLibrary;

struct TokenizedPrompt {
    torch::Tensor ids;   // int64 [text_len]: tokens, EOS, then pad id
    torch::Tensor mask;  // int64 [text_len]: 1 for tokens and EOS, 0 for padding
    int64_t length = 0;  // number of 1s in mask
};

class Tokenizer {
  public:
    // Loads a SentencePiece model file. Throws Error(Unsupported) without the shim library,
    // Error(NotFound) for a missing file, Error(FormatError) for a file SentencePiece rejects or a
    // model without an EOS piece.
    explicit Tokenizer(const std::string& model_path);
    ~Tokenizer();
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;

    // True when the shim library can be loaded; otherwise *why explains.
    static bool available(std::string* why = nullptr);

    // Raw SentencePiece ids of `text` as given (no clean-up, no EOS).
    std::vector<int32_t> encode(const std::string& text) const;
    std::string decode(const std::vector<int32_t>& ids) const;
    std::string id_to_piece(int32_t id) const;

    // Wan's prompt tokenization: clean_prompt(), encode, keep at most text_len - 1 tokens, append
    // EOS, pad with the pad id (0 for umt5) to text_len. Throws InvalidArgument for text_len < 1.
    TokenizedPrompt tokenize(const std::string& prompt, int64_t text_len = 512) const;

    int64_t vocab_size() const { return m_vocab_size; }
    int32_t eos_id() const { return m_eos_id; }
    int32_t pad_id() const { return m_pad_id; }
    int32_t unk_id() const { return m_unk_id; }
    const std::string& model_path() const { return m_model_path; }

  private:
    std::string error_message() const;

    const SpmLibrary* m_lib = nullptr;
    lipar_spm* m_handle = nullptr;
    std::string m_model_path;
    int64_t m_vocab_size = 0;
    int32_t m_eos_id = -1;
    int32_t m_pad_id = 0;
    int32_t m_unk_id = -1;
    mutable std::mutex m_mutex;  // guards m_handle's use (the shim handle is single-threaded)
};

}  // namespace lipar::model
