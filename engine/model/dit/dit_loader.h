#pragma once
// Building a Wan DiT from a checkpoint: the configuration is read off the tensor shapes, the
// weights applied by name (Self-Forcing's "model." / "generator." prefixes stripped), with an
// error naming every missing, unexpected or wrongly shaped tensor.

#include <torch/torch.h>

#include <string>

#include "io/tensor_map.h"
#include "model/dit/wan_dit.h"

namespace lipar::model {

struct DitLoadOptions {
    int64_t head_dim = 128;  // Wan's; the head count is dim / head_dim
    // For nested checkpoints ({'generator': ..., 'generator_ema': ...}): the sub-dictionary to use.
    // Empty: "generator_ema" when present, else "generator", else the top level.
    std::string select;
};

WanDit load_wan_dit(const io::TensorMap& weights, torch::TensorOptions options,
                    const DitLoadOptions& load = {});
WanDit load_wan_dit(const std::string& path, torch::TensorOptions options,
                    const DitLoadOptions& load = {});

// The weights after choosing the sub-dictionary and stripping a common "model." prefix, so that
// names match the module (also used to detect the configuration).
io::TensorMap dit_weights_view(const io::TensorMap& weights, const std::string& select);

}  // namespace lipar::model
