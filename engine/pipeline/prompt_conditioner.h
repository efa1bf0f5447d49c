#pragma once
// Turns a prompt into the DiT's text context [1, L, text_dim] (float32, on the model device).
// Kinds: UMT5 (a real text encoder, model/text), precomputed embeddings from a file, and a
// seeded "hashed" embedding for untrained packs (deterministic per prompt text, clearly fake).

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace lipar::pipeline {

struct ModelPack;

class PromptConditioner {
public:
    virtual ~PromptConditioner() = default;
    virtual torch::Tensor embed(const std::string& prompt) = 0;
    virtual std::string kind() const = 0;
    // One line for summaries: what produced the prompt embeddings so far (e.g. how many prompts
    // UMT5 encoded and how many came from the cache).
    virtual std::string describe() const { return kind(); }
};

std::unique_ptr<PromptConditioner> make_hashed_conditioner(int64_t text_len, int64_t text_dim,
                                                           const torch::Device& device);
// A safetensors file whose tensor names are the prompt texts, each [L, text_dim] or [1, L, text_dim].
std::unique_ptr<PromptConditioner> make_embeddings_conditioner(const std::string& path,
                                                               int64_t text_dim,
                                                               const torch::Device& device);
// What identifies the contents of the text encoder's files for the prompt cache: path, size and
// modification time of each (a folder: of every file in it). Weights replaced in place give a new
// identity, so embeddings of the old encoder are never served for the new one.
std::string text_files_identity(const std::vector<std::string>& paths);

// By the pack's text kind. UMT5 packs need a build with SentencePiece.
std::unique_ptr<PromptConditioner> make_conditioner(const ModelPack& pack, int64_t text_dim,
                                                    const torch::Device& device,
                                                    const std::string& cache_dir, bool cache_on_disk = true);

}  // namespace lipar::pipeline
