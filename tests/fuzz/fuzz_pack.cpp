// Pack loader: a model pack folder (manifest.json plus a DiT checkpoint), both from the input,
// split at the line "--dit--". The pack either loads, saves and loads back to the same pack, and
// its DiT is built and given its weights, or something on the way is refused with lipar::Error.
// The other files a manifest may name exist as empty placeholders (the loader checks that they
// exist; their own readers are fuzzed by the other targets).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/weights.h"
#include "model/dit/dit_config.h"
#include "model/dit/dit_loader.h"
#include "model/dit/wan_dit.h"
#include "pipeline/model_pack.h"

namespace {

namespace fs = std::filesystem;

const std::string& pack_dir() {
    static const std::string dir = [] {
        const std::string root = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        std::string d = root + "/lipar_fuzz_pack_" + std::to_string(getpid());
        fs::create_directories(d);
        for (const char* placeholder :
             {"taehv.safetensors", "autoencoder.safetensors", "encoder.safetensors", "decoder.safetensors",
              "umt5.safetensors", "text_encoder.safetensors", "spiece.model", "prompts.safetensors"})
            std::fclose(std::fopen((d + "/" + placeholder).c_str(), "wb"));
        return d;
    }();
    return dir;
}

void write_file(const std::string& path, std::string_view bytes) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
    std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::string_view marker = "\n--dit--\n";
    const size_t cut = input.find(marker);
    const std::string& dir = pack_dir();
    write_file(dir + "/manifest.json", input.substr(0, cut));
    write_file(dir + "/dit.safetensors",
               cut == std::string_view::npos ? std::string_view() : input.substr(cut + marker.size()));
    using namespace lipar;
    try {
        const auto pack = pipeline::ModelPack::load(dir);
        const std::string described = pack.describe();
        pack.save();  // rewrites manifest.json: it must load back to the same pack
        if (pipeline::ModelPack::load(dir).describe() != described) {
            std::fprintf(stderr, "pack changed by save + load:\n%s\n", described.c_str());
            std::abort();
        }
        const auto weights = model::dit_weights_view(io::load_checkpoint(pack.dit_weights), pack.dit_select);
        const auto config = model::DitConfig::from_weights(weights, pack.dit_head_dim);
        // A checkpoint's shapes are backed by its data, so the model is about the file's size;
        // bigger ones are real models, too slow to build per input.
        if (config.parameter_count() <= 4'000'000) {
            model::WanDit dit(config, torch::TensorOptions().dtype(torch::kFloat32));
            io::apply_weights(*dit, weights);
        }
    } catch (const Error&) {
    }
    return 0;
}
