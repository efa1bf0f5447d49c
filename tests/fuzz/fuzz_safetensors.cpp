// safetensors reader: a file is either read (every tensor of the size its header names) or
// refused with lipar::Error, whatever the header claims.
#include <cstdint>

#include "core/error.h"
#include "fuzz_input_file.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto& path = lipar::fuzz::write_input(data, size, ".safetensors");
    try {
        auto header = lipar::io::read_safetensors_header(path);
        auto tensors = lipar::io::read_safetensors(path);
        for (const auto& [name, t] : tensors) {
            if (t.numel() > 0) (void)t.flatten()[t.numel() - 1].item<double>();
        }
    } catch (const lipar::Error&) {
    }
    return 0;
}
