#pragma once
// A model pack: a directory with manifest.json naming every component the editor needs.
//
// {
//   "name": "tiny-random", "description": "...", "untrained": true,
//   "dit": {"weights": "dit.safetensors", "select": "", "head_dim": 128},
//   "autoencoder": {"kind": "taehv", "weights": "taehv.safetensors"}
//                | {"kind": "taesd", "encoder": "enc.safetensors", "decoder": "dec.safetensors"},
//   "text": {"kind": "umt5", "weights": "umt5.safetensors", "tokenizer": "spiece.model"}
//         | {"kind": "embeddings", "file": "prompts.safetensors"}
//         | {"kind": "hashed"},            (untrained packs: a seeded embedding per prompt text)
//   "schedule": {"shift": 5.0, "steps": [400, 350, 250], "frames_per_block": 3},
//   "resolution": {"width": 832, "height": 480, "multiple": 16},
//   "attention": {"sink": 1, "recent": 6},       (optional: the attention window the pack was
//                                                 trained for, in the paper's terms: recent counts
//                                                 the current block; model::AttentionWindow)
//   "window": {"sink": 1, "recent": 3},          (older packs: the same in committed frames,
//                                                 read as attention recent = recent + frames_per_block)
//   "styles": ["black and white", "sepia", ...]  (optional: prompts the pack was trained on)
// }
// Paths are relative to the pack directory (absolute paths allowed).

#include <string>
#include <vector>

namespace lipar::pipeline {

struct ModelPack {
    std::string dir;
    std::string name;
    std::string description;
    bool untrained = false;

    std::string dit_weights;
    std::string dit_select;  // sub-dictionary of a nested checkpoint ("" = auto)
    int64_t dit_head_dim = 128;

    std::string autoencoder_kind;  // "taehv" | "taesd"
    std::string encoder_weights;   // taesd: encoder; taehv: the one file
    std::string decoder_weights;   // taesd: decoder; taehv: same as encoder_weights

    std::string text_kind;  // "umt5" | "embeddings" | "hashed"
    std::string text_weights;
    std::string tokenizer;
    std::string embeddings;
    int64_t text_len = 512;

    double shift = 5.0;
    std::vector<double> steps = {400, 350, 250};
    int64_t frames_per_block = 3;  // latent frames

    int width = 832, height = 480, multiple = 16;

    // The attention window the pack was trained with, in the paper's terms (recent includes the
    // current block; 0 = not stated: the engine's default m = [1, 6] applies).
    int64_t window_sink = 0, window_recent = 0;
    // Canonical prompts of the styles a trained pack knows (empty for packs that do not say).
    std::vector<std::string> styles;

    // Reads and validates manifest.json; every referenced file must exist. Errors name the pack,
    // the field and the missing file.
    static ModelPack load(const std::string& dir);
    void save() const;  // writes dir/manifest.json
    std::string describe() const;  // multi-line human summary
};

}  // namespace lipar::pipeline
