// `lipar convert IN OUT.safetensors [--select PREFIX] [--dtype keep|f32|bf16|f16]`
// Reads a torch.save checkpoint (or a safetensors file) and writes safetensors, optionally keeping
// one nested part (--select generator_ema) and converting floating-point tensors.
#include <filesystem>
#include <iostream>
#include <set>

#include "args.h"
#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/weights.h"

namespace lipar::cli {

namespace {

// "'generator', 'generator_ema'": the first name components, for error messages.
std::string first_components(const io::TensorMap& m) {
    std::set<std::string> firsts;
    for (const auto& [name, t] : m)
        firsts.insert(name.substr(0, name.find('.')));
    std::string out;
    size_t listed = 0;
    for (const auto& f : firsts) {
        if (listed++ == 8) {
            out += ", ...";
            break;
        }
        out += (out.empty() ? "'" : ", '") + f + "'";
    }
    return out;
}

}  // namespace

int cmd_convert(const CommandArgs& argv) {
    Args args("convert", argv);
    args.positional("IN", "checkpoint to read: a torch.save file (.pth/.pt) or .safetensors")
        .positional("OUT", "safetensors file to write")
        .option("select",
                "keep only the tensors under this name prefix, removing it (e.g. generator_ema)")
        .option("dtype", "keep, f32, bf16 or f16: the dtype of floating-point tensors", "keep");
    if (!args.parse())
        return 0;
    const std::string in = args.get("IN");
    const std::string out = args.get("OUT");
    const std::string dtype_name = args.get("dtype");
    std::optional<torch::Dtype> dtype;
    if (dtype_name != "keep") {
        try {
            dtype = parse_dtype(dtype_name);
        } catch (const Error&) {
            fail(StatusCode::InvalidArgument, "--dtype expects keep, f32, bf16 or f16, got '",
                 dtype_name, "'");
        }
    }

    io::TensorMap tensors = io::load_checkpoint(in);
    if (args.has("select")) {
        const std::string prefix = args.get("select");
        io::TensorMap selected = io::select_prefix(tensors, prefix);
        LIPAR_CHECK(!selected.empty(), StatusCode::NotFound, "no tensor in ", in,
                    " is named under '", prefix, "' (names start with ", first_components(tensors),
                    ")");
        tensors = std::move(selected);
    }
    LIPAR_CHECK(!tensors.empty(), StatusCode::NotFound, in, " holds no tensors");

    size_t converted = 0;
    if (dtype) {
        for (auto& [name, t] : tensors) {
            if (t.is_floating_point() && t.scalar_type() != *dtype) {
                t = t.to(*dtype);
                ++converted;
            }
        }
    }
    uint64_t data_bytes = 0;
    for (const auto& [name, t] : tensors)
        data_bytes += t.numel() * t.element_size();
    io::write_safetensors(out, tensors, {{"format", "pt"}});

    std::cout << "wrote " << tensors.size() << " tensors (" << data_bytes << " bytes of data, "
              << std::filesystem::file_size(out) << " bytes in all) to " << out;
    if (dtype)
        std::cout << "; converted " << converted << " to " << lipar::dtype_name(*dtype);
    std::cout << "\n";
    return 0;
}

}  // namespace lipar::cli
