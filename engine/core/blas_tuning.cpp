#include "lipar/cpu_tuning.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace lipar {

namespace {

// Kernel families that use neither AVX2 nor AVX-512.
bool is_legacy_core(const std::string& core) {
    for (const char* old : {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom",
                            "Katmai", "Coppermine", "Northwood", "Banias", "Sandybridge",
                            "Opteron", "Barcelona", "Bobcat", "Bulldozer", "Piledriver"}) {
        if (core == old) return true;
    }
    return false;
}

}  // namespace

const char* blas_core_name() {
    using CoreName = char* (*)();
    auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    return fn ? fn() : "";
}

void tune_blas_for_this_cpu(char** argv) {
    if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
    if (const char* off = std::getenv("LIPAR_BLAS_TUNING"); off && std::strcmp(off, "0") == 0) return;
    const std::string core = blas_core_name();
    if (core.empty() || !is_legacy_core(core)) return;
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char* target = nullptr;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
        target = "SkylakeX";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        target = "Haswell";
    }
    if (target == nullptr) return;
    ::setenv("OPENBLAS_CORETYPE", target, 1);
    ::execv("/proc/self/exe", argv);
    ::unsetenv("OPENBLAS_CORETYPE");  // exec failed: carry on with the kernels we have
#else
    (void)argv;
#endif
}

}  // namespace lipar
