#pragma once
// Run-time loading of the SentencePiece shim library (model/text/sentencepiece/spm_c_api.h).
//
// The shim is opened once per process with dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) so that
// the protobuf-lite inside libsentencepiece resolves to itself and never to the libprotobuf that
// LibTorch has loaded. Sanitizer builds do not load it (their runtimes refuse RTLD_DEEPBIND). Search order: $LIPAR_SPM_LIBRARY, the shim this build produced, then
// <executable dir>/../lib and <executable dir>, then the dynamic linker's search path.
// Thread-safe: the first call loads; later calls return the same table. Never unloaded.

#include <string>

#include "model/text/sentencepiece/spm_c_api.h"

namespace lipar::model {

struct SpmLibrary {
    std::string path;  // the file that was loaded
    int (*abi_version)() = nullptr;
    lipar_spm* (*create)() = nullptr;
    void (*destroy)(lipar_spm*) = nullptr;
    int (*load)(lipar_spm*, const char*) = nullptr;
    int (*encode)(lipar_spm*, const char*, size_t, int32_t*, size_t, size_t*) = nullptr;
    int (*decode)(lipar_spm*, const int32_t*, size_t, char*, size_t, size_t*) = nullptr;
    int (*id_to_piece)(lipar_spm*, int32_t, char*, size_t, size_t*) = nullptr;
    int (*piece_count)(lipar_spm*) = nullptr;
    int (*eos_id)(lipar_spm*) = nullptr;
    int (*pad_id)(lipar_spm*) = nullptr;
    int (*unk_id)(lipar_spm*) = nullptr;
    int (*bos_id)(lipar_spm*) = nullptr;
    const char* (*last_error)(lipar_spm*) = nullptr;
};

// The loaded shim, or nullptr with *why set to a message naming the paths that were tried.
const SpmLibrary* spm_library(std::string* why = nullptr);

}  // namespace lipar::model
