#include "pipeline/block_denoiser.h"

#include "lipar/pruned_forward.h"

namespace lipar::pipeline {

torch::Tensor BlockDenoiser::denoise(StreamState& stream, const torch::Tensor& z,
                                     const accel::PrunePlan& plan, accel::PruneMode mode,
                                     const model::CrossAttnCache& cross,
                                     const std::vector<double>& ts, uint64_t seed, int64_t block,
                                     const FlowObserver& on_flow) const {
    if (stream.cache.window().recent_frames > 0) {
        // The whole window and the block, allocated once for the stream.
        const auto& w = stream.cache.window();
        stream.cache.reserve(z.size(0), (w.sink_frames + w.recent_frames + plan.frames) * plan.tokens_per_frame());
    }
    // Timesteps stay on the CPU: the DiT serves their conditioning from its cache.
    auto x = FlowSchedule::add_noise(z, m_noise.draw(seed, block, 0, z), m_schedule.sigma(ts[0]));
    torch::Tensor x0;
    for (size_t i = 0; i < ts.size(); ++i) {
        auto flow = accel::pruned_causal_forward(m_dit, x, torch::full({1}, ts[i]), cross, stream.cache,
                                                 stream.reference, plan, mode,
                                                 model::CacheWrite::Transient, &stream.graphs);
        if (on_flow) on_flow(block, static_cast<int64_t>(i), flow);
        x0 = FlowSchedule::x0_from_flow(x, flow, m_schedule.sigma(ts[i]));
        if (mode != accel::PruneMode::Off) x0 = accel::restore_pruned(x0, plan, stream.prev_last);
        if (i + 1 < ts.size()) {
            x = FlowSchedule::add_noise(x0, m_noise.draw(seed, block, static_cast<int64_t>(i) + 1, z),
                                        m_schedule.sigma(ts[i + 1]));
        }
    }
    // Nobody reads the clean pass's output: with pipeline stages the next block's first stages
    // start while its last ones still commit (the stream drains before a reset).
    accel::pruned_causal_forward(m_dit, x0, torch::zeros({1}), cross, stream.cache,
                                 stream.reference, plan, mode, model::CacheWrite::CommitDetached);
    stream.prev_last = x0.select(2, x0.size(2) - 1).clone();
    return x0;
}

}  // namespace lipar::pipeline
