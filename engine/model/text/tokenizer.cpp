#include "model/text/tokenizer.h"

#include <sys/stat.h>

#include "core/error.h"
#include "model/text/spm_library.h"
#include "model/text/text_clean.h"

namespace lipar::model {

bool Tokenizer::available(std::string* why) {
    return spm_library(why) != nullptr;
}

Tokenizer::Tokenizer(const std::string& model_path) : m_model_path(model_path) {
    std::string why;
    m_lib = spm_library(&why);
    LIPAR_CHECK(m_lib, StatusCode::Unsupported, "cannot tokenize prompts: ", why);
    struct stat st {};
    LIPAR_CHECK(::stat(model_path.c_str(), &st) == 0 && S_ISREG(st.st_mode), StatusCode::NotFound,
                "tokenizer model '", model_path, "' does not exist or is not a file");
    m_handle = m_lib->create();
    LIPAR_CHECK(m_handle, StatusCode::OutOfMemory, "cannot create a SentencePiece processor");
    if (m_lib->load(m_handle, model_path.c_str()) != 0) {
        const std::string message = error_message();
        m_lib->destroy(m_handle);
        m_handle = nullptr;
        fail(StatusCode::FormatError, "'", model_path,
             "' is not a SentencePiece model (spiece.model): ", message);
    }
    m_vocab_size = m_lib->piece_count(m_handle);
    m_eos_id = m_lib->eos_id(m_handle);
    m_unk_id = m_lib->unk_id(m_handle);
    const int pad = m_lib->pad_id(m_handle);
    m_pad_id =
        pad >= 0 ? pad : 0;  // the Hugging Face tokenizer pads with 0 when the model has none
    if (m_eos_id < 0) {
        m_lib->destroy(m_handle);
        m_handle = nullptr;
        fail(StatusCode::FormatError, "SentencePiece model '", model_path,
             "' defines no EOS piece; the text encoder needs one (umt5 uses id 1)");
    }
}

Tokenizer::~Tokenizer() {
    if (m_handle)
        m_lib->destroy(m_handle);
}

std::string Tokenizer::error_message() const {
    const char* message = m_lib->last_error(m_handle);
    return message ? message : "unknown error";
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    std::vector<int32_t> ids(text.size() + 16);
    size_t count = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (m_lib->encode(m_handle, text.data(), text.size(), ids.data(), ids.size(), &count) !=
            0) {
            fail(StatusCode::InvalidArgument,
                 "SentencePiece could not encode the prompt: ", error_message());
        }
        if (count <= ids.size())
            break;
        ids.resize(count);
    }
    ids.resize(std::min(count, ids.size()));
    return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    std::string text(ids.size() * 8 + 16, '\0');
    size_t len = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (m_lib->decode(m_handle, ids.data(), ids.size(), text.data(), text.size(), &len) != 0) {
            fail(StatusCode::InvalidArgument, "SentencePiece could not decode: ", error_message());
        }
        if (len <= text.size())
            break;
        text.resize(len);
    }
    text.resize(std::min(len, text.size()));
    return text;
}

std::string Tokenizer::id_to_piece(int32_t id) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    std::string piece(64, '\0');
    size_t len = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (m_lib->id_to_piece(m_handle, id, piece.data(), piece.size(), &len) != 0) {
            fail(StatusCode::InvalidArgument, "token id ", id, " is not in the vocabulary of ",
                 m_vocab_size, " pieces");
        }
        if (len <= piece.size())
            break;
        piece.resize(len);
    }
    piece.resize(std::min(len, piece.size()));
    return piece;
}

TokenizedPrompt Tokenizer::tokenize(const std::string& prompt, int64_t text_len) const {
    LIPAR_CHECK(text_len >= 1, StatusCode::InvalidArgument, "text length must be at least 1, got ",
                text_len);
    std::vector<int32_t> ids = encode(clean_prompt(prompt));
    // As the Hugging Face tokenizer does with truncation: room is kept for EOS.
    if (static_cast<int64_t>(ids.size()) > text_len - 1)
        ids.resize(text_len - 1);
    ids.push_back(m_eos_id);

    TokenizedPrompt out;
    out.length = static_cast<int64_t>(ids.size());
    out.ids = torch::full({text_len}, static_cast<int64_t>(m_pad_id), torch::kInt64);
    out.mask = torch::zeros({text_len}, torch::kInt64);
    auto id_acc = out.ids.accessor<int64_t, 1>();
    auto mask_acc = out.mask.accessor<int64_t, 1>();
    for (int64_t i = 0; i < out.length; ++i) {
        id_acc[i] = ids[static_cast<size_t>(i)];
        mask_acc[i] = 1;
    }
    return out;
}

}  // namespace lipar::model
