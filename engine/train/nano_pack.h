#pragma once
// Writes a trained Nano model pack: fp16 safetensors (DiT with Wan's published names, the
// autoencoder with its layout in the metadata, the UMT5 text encoder with Hugging Face's names),
// the tokenizer, manifest.json and a model card. The pack is assembled in a temporary folder
// beside the destination and renamed into place at the end, so an interrupted export never
// leaves a half-written pack under the destination's name.

#include <string>
#include <vector>

#include "model/vae/taehv.h"
#include "train/editor_trainer.h"

namespace lipar::train {

struct NanoPackContent {
    std::string out;             // destination folder
    std::string tokenizer;       // SentencePiece model file (copied)
    std::string model_card;      // README.md text
    std::vector<double> steps;   // schedule
    double shift = 5.0;
    int64_t frames_per_block = 3;
    int64_t text_len = 24;
    int width = 320, height = 192;
    int64_t window_sink = 1, window_recent = 6;  // attention window, the paper's terms
};

void write_nano_pack(const NanoPackContent& content, const model::Taehv& autoencoder,
                     const EditorModulesImpl& modules);

}  // namespace lipar::train
