// The pickle machine on its own (faster than going through zip archives): any program either
// runs to STOP or is refused with lipar::Error; persistent ids and calls are answered as torch's
// loader answers them for unknown globals (an opaque object).
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    namespace pickle = lipar::io::pickle;
    pickle::Hooks hooks;
    hooks.persistent_load = [](const pickle::ValuePtr&) { return pickle::ValuePtr(); };
    hooks.call = [](const std::string&, const pickle::ValuePtr&) { return pickle::ValuePtr(); };
    try {
        (void)pickle::load(std::string_view(reinterpret_cast<const char*>(data), size), hooks,
                           "fuzz input");
    } catch (const lipar::Error&) {
    }
    return 0;
}
