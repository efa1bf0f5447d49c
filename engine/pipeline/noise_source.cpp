#include "pipeline/noise_source.h"

#include <mutex>

namespace lipar::pipeline {

torch::Tensor NoiseSource::draw(uint64_t seed, int64_t block, int64_t step,
                                const torch::Tensor& like) const {
    if (m_given) return m_given(block, step, like.sizes()).to(like.device(), torch::kFloat32);
    const uint64_t s = seed * 1000003ull + static_cast<uint64_t>(block) * 101ull + static_cast<uint64_t>(step);
    if (!like.device().is_cpu()) {
        // The device's default generator, reseeded (only the engine thread draws from it).
        auto gen = at::globalContext().defaultGenerator(like.device());
        {
            // randn takes the same (non-recursive) lock itself: release it first.
            std::lock_guard<std::mutex> lock(gen.mutex());
            gen.set_current_seed(s);
        }
        return torch::randn(like.sizes(), gen, like.options().dtype(torch::kFloat32));
    }
    return torch::randn(like.sizes(), at::detail::createCPUGenerator(s));
}

}  // namespace lipar::pipeline
