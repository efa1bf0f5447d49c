#pragma once
// Prompt -> text embedding [text_len, d_model] as Self-Forcing feeds it to the DiT: Wan's
// tokenization (tokenizer.h), the UMT5 encoder, and the rows of padding positions set to zero.
//
// Only the real tokens are run through the encoder: padding keys are masked out of every
// attention and the relative-position bias depends only on distances, so the real rows equal those
// of a full text_len pass (up to summation order) at a fraction of the cost.
//
// Threading: one thread at a time (the encoder module is not reentrant).

#include <torch/torch.h>

#include <memory>
#include <string>

#include "model/text/tokenizer.h"
#include "model/text/umt5.h"

namespace lipar::model {

class PromptEncoder {
  public:
    PromptEncoder(std::shared_ptr<const Tokenizer> tokenizer,
                  Umt5Encoder umt5,
                  int64_t text_len = 512);

    // [text_len, d_model] in the encoder's dtype on its device; rows past the prompt's tokens
    // (and EOS) are zero.
    torch::Tensor encode(const std::string& prompt);
    // The same for an already tokenized prompt (ids/mask of any length <= text_len are padded).
    torch::Tensor encode_tokens(const TokenizedPrompt& tokens);

    int64_t text_len() const { return m_text_len; }
    const Tokenizer& tokenizer() const { return *m_tokenizer; }
    Umt5Encoder& umt5() { return m_umt5; }

  private:
    std::shared_ptr<const Tokenizer> m_tokenizer;
    Umt5Encoder m_umt5;
    int64_t m_text_len = 512;
};

// hidden [B, L, D] * mask [B, L]: zeroes the rows of padding positions (Self-Forcing's
// `u[v:] = 0`), keeping dtype and device.
torch::Tensor zero_padding_rows(const torch::Tensor& hidden, const torch::Tensor& mask);

}  // namespace lipar::model
