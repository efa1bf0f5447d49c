#include "model/text/prompt_encoder.h"

#include "core/device.h"
#include "core/error.h"

namespace lipar::model {

PromptEncoder::PromptEncoder(std::shared_ptr<const Tokenizer> tokenizer,
                             Umt5Encoder umt5,
                             int64_t text_len)
    : m_tokenizer(std::move(tokenizer)), m_umt5(std::move(umt5)), m_text_len(text_len) {
    LIPAR_CHECK(m_tokenizer, StatusCode::InvalidArgument, "PromptEncoder needs a tokenizer");
    LIPAR_CHECK(!m_umt5.is_empty(), StatusCode::InvalidArgument, "PromptEncoder needs an encoder");
    LIPAR_CHECK(text_len >= 1, StatusCode::InvalidArgument, "text length must be at least 1, got ",
                text_len);
    LIPAR_CHECK(m_tokenizer->vocab_size() <= m_umt5->config().vocab_size, StatusCode::ShapeMismatch,
                "the tokenizer has ", m_tokenizer->vocab_size(),
                " pieces but the text encoder's embedding only ", m_umt5->config().vocab_size,
                " rows; tokenizer and weights do not belong together");
}

torch::Tensor PromptEncoder::encode(const std::string& prompt) {
    return encode_tokens(m_tokenizer->tokenize(prompt, m_text_len));
}

torch::Tensor PromptEncoder::encode_tokens(const TokenizedPrompt& tokens) {
    LIPAR_CHECK(tokens.ids.defined() && tokens.ids.dim() == 1, StatusCode::ShapeMismatch,
                "token ids must be one-dimensional");
    const int64_t length = tokens.length;
    LIPAR_CHECK(length >= 1 && length <= m_text_len && length <= tokens.ids.size(0),
                StatusCode::InvalidArgument, "prompt of ", length,
                " tokens does not fit a text length of ", m_text_len);
    torch::NoGradGuard no_grad;
    const auto ids = tokens.ids.slice(0, 0, length).unsqueeze(0);
    const auto hidden = m_umt5->forward(ids, torch::ones_like(ids)).squeeze(0);  // [length, D]
    auto out = torch::zeros({m_text_len, hidden.size(1)}, hidden.options());
    out.slice(0, 0, length).copy_(hidden);
    return out;
}

torch::Tensor zero_padding_rows(const torch::Tensor& hidden, const torch::Tensor& mask) {
    LIPAR_CHECK(hidden.dim() == 3 && mask.dim() == 2 && hidden.size(0) == mask.size(0) &&
                    hidden.size(1) == mask.size(1),
                StatusCode::ShapeMismatch, "hidden ", shape_string(hidden.sizes()), " and mask ",
                shape_string(mask.sizes()), " do not match");
    return hidden.masked_fill(mask.to(hidden.device()).eq(0).unsqueeze(-1), 0);
}

}  // namespace lipar::model
