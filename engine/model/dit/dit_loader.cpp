#include "model/dit/dit_loader.h"

#include "core/error.h"
#include "core/log.h"
#include "io/safetensors.h"
#include "io/weights.h"

namespace lipar::model {

namespace {
bool has_prefix(const io::TensorMap& w, const std::string& prefix) {
    auto it = w.lower_bound(prefix);
    return it != w.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

io::TensorMap dit_weights_view(const io::TensorMap& weights, const std::string& select) {
    io::TensorMap w = weights;
    std::string sub = select;
    if (sub.empty()) {
        if (has_prefix(w, "generator_ema.")) {
            sub = "generator_ema";
        } else if (has_prefix(w, "generator.") && !has_prefix(w, "generator.patch_embedding")) {
            sub = "generator";
        }
    }
    if (!sub.empty()) {
        LIPAR_CHECK(has_prefix(w, sub + "."), StatusCode::NotFound, "checkpoint has no '", sub,
                    "' entry");
        w = io::select_prefix(w, sub + ".");
    }
    for (const char* prefix : {"model.", "module."}) {
        if (!w.empty() && !has_prefix(w, "patch_embedding") && has_prefix(w, prefix)) {
            w = io::select_prefix(w, prefix);
        }
    }
    return w;
}

WanDit load_wan_dit(const io::TensorMap& weights, torch::TensorOptions options,
                    const DitLoadOptions& load) {
    const auto w = dit_weights_view(weights, load.select);
    const DitConfig config = DitConfig::from_weights(w, load.head_dim);
    LIPAR_LOG_INFO("DiT: ", config.describe());
    WanDit dit(config, options);
    io::apply_weights(*dit, w);
    return dit;
}

WanDit load_wan_dit(const std::string& path, torch::TensorOptions options,
                    const DitLoadOptions& load) {
    return load_wan_dit(io::read_safetensors(path), options, load);
}

}  // namespace lipar::model
