// Writes the pack target's seed: a manifest naming dit.safetensors, the line "--dit--", and the
// weights of a tiny Wan DiT (dim 24, one block) as the engine's own code saves them.
//   make_pack_seed OUT_FILE
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "io/safetensors.h"
#include "model/dit/dit_config.h"
#include "model/dit/wan_dit.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: make_pack_seed OUT_FILE\n";
        return 2;
    }
    using namespace lipar;
    model::DitConfig c;
    c.dim = 24;
    c.ffn_dim = 32;
    c.num_heads = 2;
    c.num_layers = 1;
    c.in_channels = 4;
    c.out_channels = 4;
    c.text_dim = 8;
    c.freq_dim = 8;
    model::WanDit dit(c, torch::TensorOptions().dtype(torch::kFloat32));
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& p : dit->named_parameters()) tensors[p.key()] = p.value().detach();
    for (const auto& b : dit->named_buffers()) tensors[b.key()] = b.value().detach();
    const std::string weights = std::string(argv[1]) + ".dit";
    io::write_safetensors(weights, tensors);
    std::ifstream in(weights, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(argv[1], std::ios::binary);
    out << R"({"name": "seed", "untrained": true, "dit": {"weights": "dit.safetensors", "head_dim": 12},
 "autoencoder": {"kind": "taehv", "weights": "taehv.safetensors"}, "text": {"kind": "hashed"},
 "schedule": {"shift": 5.0, "steps": [400, 350, 250], "frames_per_block": 3},
 "resolution": {"width": 64, "height": 32, "multiple": 16}, "window": {"sink": 1, "recent": 3},
 "styles": ["sepia"]})"
        << "\n--dit--\n" << bytes;
    std::remove(weights.c_str());
    return out ? 0 : 1;
}
