#pragma once
// The noise of the editor's denoising loop: one tensor per (block, step) — step 0 noises the clean
// source latents, step i > 0 re-noises before pass i. Seeded from (seed, block, step), so both
// sides of compare mode and every rerun get the same; drawn where the latents are (uploading CPU
// noise would make the host wait for the device before every step). Parity runs give the noise
// instead (`lipar tensor edit-loop`).

#include <torch/torch.h>

#include <functional>

namespace lipar::pipeline {

class NoiseSource {
public:
    using Given = std::function<torch::Tensor(int64_t block, int64_t step, c10::IntArrayRef sizes)>;
    explicit NoiseSource(Given given = {}) : m_given(std::move(given)) {}
    // float32 noise shaped and placed like `like`.
    torch::Tensor draw(uint64_t seed, int64_t block, int64_t step, const torch::Tensor& like) const;

private:
    Given m_given;
};

}  // namespace lipar::pipeline
