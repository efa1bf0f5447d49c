// torch.save reader (zip archive + pickle + storages): read or refused with lipar::Error.
#include <cstdint>

#include "core/error.h"
#include "fuzz_input_file.h"
#include "io/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto& path = lipar::fuzz::write_input(data, size, ".pth");
    try {
        auto tensors = lipar::io::read_torch_checkpoint(path);
        for (const auto& [name, t] : tensors) {
            if (t.numel() > 0) (void)t.flatten()[t.numel() - 1].item<double>();
        }
    } catch (const lipar::Error&) {
    }
    return 0;
}
