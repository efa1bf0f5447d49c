#pragma once
// Applying checkpoint tensors to a torch::nn::Module by name (parameters and buffers alike).
//
//   auto weights = io::load_checkpoint(path);
//   io::apply_weights(*dit, io::select_prefix(weights, "generator_ema"));
//
// Validation happens before any copy, so a failed apply leaves the module unchanged. Not
// thread-safe with respect to the module: no other thread may use it during the call.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "io/tensor_map.h"

namespace lipar::io {

struct ApplyOptions {
    // Tried, repeatedly and in this order, on a checkpoint name that the module lacks:
    // "generator.model.blocks.0.x" -> "model.blocks.0.x" -> "blocks.0.x".
    std::vector<std::string> strip_prefixes = {"model.", "generator.", "module."};
    // Module tensors absent from the checkpoint are an error unless true.
    bool allow_missing = false;
    // Checkpoint tensors the module lacks are an error unless true.
    bool allow_unexpected = false;
};

struct WeightReport {
    std::vector<std::string> missing;     // module names without a checkpoint tensor
    std::vector<std::string> unexpected;  // checkpoint names without a module tensor
    // "blocks.0.self_attn.q.weight: checkpoint [1536, 1536] vs model [1024, 1024]"
    std::vector<std::string> mismatched;
    size_t applied = 0;

    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    // "applied 825 tensors; 2 missing (a, b); 0 unexpected; 0 shape mismatches"
    std::string summary() const;
};

// Copies each matched tensor into the module's parameter or buffer under NoGradGuard, converting
// to that tensor's dtype and device. Throws, listing the first 10 offending names of each kind plus
// counts: Error(ShapeMismatch) when any shape differs (always an error), else Error(NotFound) for
// missing names unless allow_missing, else Error(FormatError) for unexpected names unless
// allow_unexpected. On success the report lists what was tolerated.
WeightReport apply_weights(torch::nn::Module& module,
                           const TensorMap& weights,
                           const ApplyOptions& options = {});

// The tensors whose names start with `prefix`, with the prefix removed. A prefix that does not end
// in '.' is matched as a whole name component: "generator" selects "generator.x" but not
// "generator_ema.x".
TensorMap select_prefix(const TensorMap& weights, const std::string& prefix);

}  // namespace lipar::io
