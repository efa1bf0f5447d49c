#pragma once
// Seeded random model packs, clearly labelled untrained: for tests, demos and benchmarks until a
// trained pack is installed (packaging/download-models.sh). The output of such a pack is noise;
// its speed and its pruning behaviour are real.

#include <cstdint>
#include <string>

#include "pipeline/model_pack.h"

namespace lipar::pipeline {

struct RandomPackOptions {
    std::string config = "tiny";  // DiT configuration: tiny | wan-1.3b
    std::string out;              // pack directory to create
    uint64_t seed = 0;
    // "taehv" (random, Wan latent space) or "taesd:ENCODER,DECODER" (existing TAESD-family
    // weights, e.g. taef2; the DiT then takes their latent channel count).
    std::string autoencoder = "taehv";
    int width = 0, height = 0;  // default resolution; 0 = 320x192 for tiny, 832x480 otherwise
    // "hashed" (a seeded embedding per prompt) or "umt5:TOKENIZER.model": a random UMT5 encoder
    // with Hugging Face's published tensor names (d_model = the DiT's text_dim, 2 layers; 24
    // layers of the released size for wan-1.3b is --text-layers 24) and that SentencePiece model.
    std::string text = "hashed";
    int64_t text_layers = 2;
    int64_t text_len = 0;  // prompt tokens; 0 = the configuration's (512 for wan-1.3b, 16 for tiny)
    int64_t frames_per_block = 3;
};

ModelPack write_random_pack(const RandomPackOptions& options);

}  // namespace lipar::pipeline
