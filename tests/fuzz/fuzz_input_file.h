// The readers under fuzzing take paths: each input is written to one file per process (in
// /dev/shm when it exists, so no disk I/O) and read back from there.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace lipar::fuzz {

inline const std::string& input_path(const char* extension) {
    static const std::string path = std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") +
                                    "/lipar_fuzz_" + std::to_string(getpid()) + extension;
    return path;
}

inline const std::string& write_input(const uint8_t* data, size_t size, const char* extension) {
    const std::string& path = input_path(extension);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
    return path;
}

}  // namespace lipar::fuzz
