// JSON parser (pack manifests, safetensors headers): any input either parses or is refused with
// lipar::Error; a document that parses dumps to text that parses to the same dump.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using lipar::Json;
    Json doc;
    try {
        doc = Json::parse(std::string_view(reinterpret_cast<const char*>(data), size));
    } catch (const lipar::Error&) {
        return 0;
    }
    const std::string once = doc.dump();
    const std::string twice = Json::parse(once).dump();
    if (once != twice) std::abort();
    return 0;
}
