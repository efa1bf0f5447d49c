// y4m reader: a stream is either read frame by frame or refused with lipar::Error (bad header,
// truncated frame), never read out of bounds.
#include <cstdint>

#include "core/error.h"
#include "fuzz_input_file.h"
#include "media/y4m.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto& path = lipar::fuzz::write_input(data, size, ".y4m");
    try {
        lipar::media::Y4mReader reader(path);
        lipar::Frame frame;
        for (int i = 0; i < 8 && reader.read(frame); ++i) {
            if (frame.rgb.size() != size_t(frame.width) * frame.height * 3) __builtin_trap();
        }
        reader.seek(0);
        (void)reader.read(frame);
    } catch (const lipar::Error&) {
    }
    return 0;
}
