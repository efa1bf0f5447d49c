#pragma once
// What the tests of several workers for the DiT share (pipeline stages, token workers, blocks on
// several devices): a random model pack written once per test process, removed at exit, and
// latents with a changing patch on a still scene.

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "common/remove_tree.h"
#include "pipeline/editor.h"
#include "pipeline/random_pack.h"

namespace lipar::test {

// A random pack of `config` (nano: 4 blocks; tiny: with an autoencoder) in the temporary folder,
// named after `name` and the process, removed when the process exits.
inline pipeline::ModelPack random_pack(const std::string& name, const std::string& config = "nano",
                                       uint64_t seed = 5) {
    pipeline::RandomPackOptions o;
    o.config = config;
    o.out = (std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))).string();
    o.seed = seed;
    remove_tree_at_exit(o.out);
    return pipeline::write_random_pack(o);
}

// Latents [channels, frames, h, w] of a still scene with a patch that changes every frame:
// pruning keeps part of each block.
inline torch::Tensor changing_patch_scene(int64_t channels, int64_t frames, int64_t h, int64_t w) {
    auto gen = at::detail::createCPUGenerator(31);
    auto z = torch::randn({channels, 1, h, w}, gen).expand({channels, frames, h, w}).clone();
    z.narrow(2, 2, 3).narrow(3, 4, 4).add_(torch::randn({channels, frames, 3, 4}, gen));
    return z;
}

// An editor of latents only at 128x64 on the CPU.
inline pipeline::EditorSettings latents_settings() {
    pipeline::EditorSettings s;
    s.width = 128;
    s.height = 64;
    s.latents_only = true;
    return s;
}

}  // namespace lipar::test
