#pragma once
// Loading UMT5 encoder weights from the layouts people actually have:
//  - Wan's models_t5_umt5-xxl-enc-bf16.pth (T5Encoder names: token_embedding.weight,
//    blocks.N.{norm1,norm2}.weight, blocks.N.attn.{q,k,v,o}.weight,
//    blocks.N.ffn.{gate.0,fc1,fc2}.weight, blocks.N.pos_embedding.embedding.weight, norm.weight);
//  - Hugging Face UMT5EncoderModel / UMT5Model safetensors: one file, a directory, or a sharded
//    model.safetensors.index.json (decoder and LM-head tensors are skipped without being read).
// The configuration is detected from the tensor shapes (heads from relative_attention_bias),
// with max_distance / eps taken from a config.json beside Hugging Face weights when present.

#include <string>

#include "io/tensor_map.h"
#include "model/text/umt5.h"

namespace lipar::model {

// Renames Wan's names to this module's (Hugging Face) names, folds encoder.embed_tokens.weight into
// shared.weight and drops decoder / LM-head tensors. Other names pass through unchanged.
io::TensorMap canonical_umt5_weights(io::TensorMap weights);

// Config from canonical weights. Error(FormatError) naming the tensor when a required one is
// missing or shapes disagree; Error(Unsupported) for a T5 checkpoint with one shared position bias.
Umt5Config detect_umt5_config(const io::TensorMap& canonical);

struct Umt5Weights {
    io::TensorMap tensors;  // canonical names, CPU, stored dtype
    Umt5Config config;
    std::string description;  // "Wan .pth" / "Hugging Face safetensors (3 shards)"
};

// Reads and canonicalizes weights from `path`: a .pth/.pt file, a .safetensors file, a
// *.safetensors.index.json, or a directory holding one of those. Error(NotFound) when nothing
// usable is there.
Umt5Weights read_umt5_weights(const std::string& path);

// Reads the weights, builds the module with `options` (device, dtype) and applies them.
Umt5Encoder load_umt5_encoder(const std::string& path, const torch::TensorOptions& options);

}  // namespace lipar::model
