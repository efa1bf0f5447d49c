// The SentencePiece shim library: wraps sentencepiece::SentencePieceProcessor behind the C API of
// spm_c_api.h. Built as its own shared library and never linked with LibTorch (see the header).
#include <sentencepiece_processor.h>

#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "spm_c_api.h"

struct lipar_spm {
    sentencepiece::SentencePieceProcessor processor;
    bool loaded = false;
    std::string error;
};

namespace {

int fail_with(lipar_spm* spm, const std::string& message) {
    if (spm)
        spm->error = message;
    return -1;
}

bool ready(lipar_spm* spm) {
    if (!spm)
        return false;
    if (!spm->loaded) {
        spm->error = "no SentencePiece model loaded";
        return false;
    }
    return true;
}

void copy_out(const std::string& s, char* out, size_t capacity, size_t* len) {
    if (len)
        *len = s.size();
    if (out && capacity > 0)
        std::memcpy(out, s.data(), s.size() < capacity ? s.size() : capacity);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) int lipar_spm_abi_version(void) {
    return LIPAR_SPM_ABI_VERSION;
}

__attribute__((visibility("default"))) lipar_spm* lipar_spm_create(void) {
    try {
        return new lipar_spm();
    } catch (...) {
        return nullptr;
    }
}

__attribute__((visibility("default"))) void lipar_spm_destroy(lipar_spm* spm) {
    delete spm;
}

__attribute__((visibility("default"))) int lipar_spm_load(lipar_spm* spm, const char* model_path) {
    if (!spm)
        return -1;
    if (!model_path)
        return fail_with(spm, "model path is null");
    try {
        const auto status = spm->processor.Load(model_path);
        if (!status.ok()) {
            spm->loaded = false;
            return fail_with(spm, status.ToString());
        }
        spm->loaded = true;
        spm->error.clear();
        return 0;
    } catch (const std::exception& e) {
        spm->loaded = false;
        return fail_with(spm, e.what());
    } catch (...) {
        spm->loaded = false;
        return fail_with(spm, "unknown error while loading the SentencePiece model");
    }
}

__attribute__((visibility("default"))) int lipar_spm_encode(lipar_spm* spm,
                                                            const char* text,
                                                            size_t len,
                                                            int32_t* ids,
                                                            size_t capacity,
                                                            size_t* count) {
    if (!ready(spm))
        return -1;
    if (!text && len > 0)
        return fail_with(spm, "text is null");
    try {
        std::vector<int> out;
        const auto status = spm->processor.Encode(std::string_view(text ? text : "", len), &out);
        if (!status.ok())
            return fail_with(spm, status.ToString());
        if (count)
            *count = out.size();
        for (size_t i = 0; i < out.size() && i < capacity && ids; ++i)
            ids[i] = out[i];
        return 0;
    } catch (const std::exception& e) {
        return fail_with(spm, e.what());
    } catch (...) {
        return fail_with(spm, "unknown error while encoding");
    }
}

__attribute__((visibility("default"))) int lipar_spm_decode(lipar_spm* spm,
                                                            const int32_t* ids,
                                                            size_t n,
                                                            char* text,
                                                            size_t capacity,
                                                            size_t* len) {
    if (!ready(spm))
        return -1;
    if (!ids && n > 0)
        return fail_with(spm, "ids are null");
    try {
        const int size = spm->processor.GetPieceSize();
        std::vector<int> in(n);
        for (size_t i = 0; i < n; ++i) {
            if (ids[i] < 0 || ids[i] >= size) {
                return fail_with(spm, "id " + std::to_string(ids[i]) + " is out of range [0, " +
                                          std::to_string(size) + ")");
            }
            in[i] = ids[i];
        }
        std::string out;
        const auto status = spm->processor.Decode(in, &out);
        if (!status.ok())
            return fail_with(spm, status.ToString());
        copy_out(out, text, capacity, len);
        return 0;
    } catch (const std::exception& e) {
        return fail_with(spm, e.what());
    } catch (...) {
        return fail_with(spm, "unknown error while decoding");
    }
}

__attribute__((visibility("default"))) int lipar_spm_id_to_piece(lipar_spm* spm,
                                                                 int32_t id,
                                                                 char* piece,
                                                                 size_t capacity,
                                                                 size_t* len) {
    if (!ready(spm))
        return -1;
    if (id < 0 || id >= spm->processor.GetPieceSize()) {
        return fail_with(spm, "id " + std::to_string(id) + " is out of range");
    }
    try {
        copy_out(spm->processor.IdToPiece(id), piece, capacity, len);
        return 0;
    } catch (...) {
        return fail_with(spm, "unknown error in id_to_piece");
    }
}

__attribute__((visibility("default"))) int lipar_spm_piece_count(lipar_spm* spm) {
    return ready(spm) ? spm->processor.GetPieceSize() : -1;
}

__attribute__((visibility("default"))) int lipar_spm_eos_id(lipar_spm* spm) {
    return ready(spm) ? spm->processor.eos_id() : -1;
}

__attribute__((visibility("default"))) int lipar_spm_pad_id(lipar_spm* spm) {
    return ready(spm) ? spm->processor.pad_id() : -1;
}

__attribute__((visibility("default"))) int lipar_spm_unk_id(lipar_spm* spm) {
    return ready(spm) ? spm->processor.unk_id() : -1;
}

__attribute__((visibility("default"))) int lipar_spm_bos_id(lipar_spm* spm) {
    return ready(spm) ? spm->processor.bos_id() : -1;
}

__attribute__((visibility("default"))) const char* lipar_spm_last_error(lipar_spm* spm) {
    return spm ? spm->error.c_str() : "null SentencePiece handle";
}

}  // extern "C"
