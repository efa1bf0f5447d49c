#include "model/text/spm_library.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "core/log.h"

namespace lipar::model {

namespace {

constexpr const char* kLibraryName = "liblipar_spm.so";

std::string executable_dir() {
    char buffer[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
    if (n <= 0)
        return {};
    std::string path(buffer, static_cast<size_t>(n));
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

std::vector<std::string> candidate_paths() {
    std::vector<std::string> paths;
    if (const char* env = std::getenv("LIPAR_SPM_LIBRARY"); env && *env) {
        paths.emplace_back(env);
        return paths;  // an explicit choice is not second-guessed
    }
#ifdef LIPAR_SPM_BUILD_PATH
    paths.emplace_back(LIPAR_SPM_BUILD_PATH);
#endif
    const std::string dir = executable_dir();
    if (!dir.empty()) {
        paths.push_back(dir + "/../lib/" + kLibraryName);
        paths.push_back(dir + "/../lib/lipar-studio/" + kLibraryName);
        paths.push_back(dir + "/" + kLibraryName);
    }
    paths.emplace_back(kLibraryName);  // LD_LIBRARY_PATH, rpath, system directories
    return paths;
}

template <typename Fn>
bool resolve(void* handle, const char* name, Fn* out, std::string* why) {
    *out = reinterpret_cast<Fn>(dlsym(handle, name));
    if (!*out)
        *why = str_cat("symbol ", name, " is missing");
    return *out != nullptr;
}

bool resolve_all(void* handle, SpmLibrary& lib, std::string* why) {
    return resolve(handle, "lipar_spm_abi_version", &lib.abi_version, why) &&
           resolve(handle, "lipar_spm_create", &lib.create, why) &&
           resolve(handle, "lipar_spm_destroy", &lib.destroy, why) &&
           resolve(handle, "lipar_spm_load", &lib.load, why) &&
           resolve(handle, "lipar_spm_encode", &lib.encode, why) &&
           resolve(handle, "lipar_spm_decode", &lib.decode, why) &&
           resolve(handle, "lipar_spm_id_to_piece", &lib.id_to_piece, why) &&
           resolve(handle, "lipar_spm_piece_count", &lib.piece_count, why) &&
           resolve(handle, "lipar_spm_eos_id", &lib.eos_id, why) &&
           resolve(handle, "lipar_spm_pad_id", &lib.pad_id, why) &&
           resolve(handle, "lipar_spm_unk_id", &lib.unk_id, why) &&
           resolve(handle, "lipar_spm_bos_id", &lib.bos_id, why) &&
           resolve(handle, "lipar_spm_last_error", &lib.last_error, why);
}

struct LoadResult {
    SpmLibrary library;
    bool ok = false;
    std::string why;
};

// Sanitizer runtimes refuse RTLD_DEEPBIND (github.com/google/sanitizers/issues/611), and without
// it libsentencepiece's protobuf binds to LibTorch's and crashes while parsing a model (seen under
// ASan). Sanitizer builds therefore run without the tokenizer: its tests skip with this reason.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LIPAR_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LIPAR_SANITIZER_BUILD 1
#endif
#endif

LoadResult load_library() {
    LoadResult result;
#ifdef LIPAR_SANITIZER_BUILD
    result.why = "the SentencePiece shim (liblipar_spm.so) is not loaded in sanitizer builds (their "
                 "runtimes refuse RTLD_DEEPBIND, which keeps its protobuf apart from LibTorch's)";
    return result;
#endif
    std::string tried;
    for (const auto& path : candidate_paths()) {
        // A relative bare name is left to the dynamic linker; a path must exist to be worth trying.
        if (path.find('/') != std::string::npos && access(path.c_str(), R_OK) != 0) {
            tried += str_cat("\n  ", path, ": not found");
            continue;
        }
        dlerror();
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        if (!handle) {
            const char* err = dlerror();
            tried += str_cat("\n  ", path, ": ", err ? err : "dlopen failed");
            continue;
        }
        SpmLibrary lib;
        std::string why;
        if (!resolve_all(handle, lib, &why)) {
            tried += str_cat("\n  ", path, ": ", why);
            dlclose(handle);
            continue;
        }
        if (lib.abi_version() != LIPAR_SPM_ABI_VERSION) {
            tried += str_cat("\n  ", path, ": interface version ", lib.abi_version(),
                             ", this build needs ", LIPAR_SPM_ABI_VERSION);
            dlclose(handle);
            continue;
        }
        lib.path = path;
        result.library = lib;
        result.ok = true;
        LIPAR_LOG_DEBUG("SentencePiece shim loaded from ", path);
        return result;
    }
    result.why = str_cat(
        "the SentencePiece tokenizer library (", kLibraryName,
        ") is not available; build with libsentencepiece-dev installed, or set LIPAR_SPM_LIBRARY, "
        "or use precomputed prompt embeddings. Tried:",
        tried);
    return result;
}

}  // namespace

const SpmLibrary* spm_library(std::string* why) {
    static std::once_flag once;
    static LoadResult result;
    std::call_once(once, [] { result = load_library(); });
    if (!result.ok) {
        if (why)
            *why = result.why;
        return nullptr;
    }
    return &result.library;
}

}  // namespace lipar::model
