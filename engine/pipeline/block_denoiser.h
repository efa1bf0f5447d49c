#pragma once
// Few-step denoising of one block of latents under a prune plan, on one stream's state:
//
//   SDEdit noise to the first step -> for each step: DiT pass (pruned per mode) -> x0 ->
//   restoration of pruned tokens -> re-noise to the next step; then the t = 0 pass on x0 that
//   commits the block's clean K/V (and refreshes LIPAR's clean reference).
//
// Compare mode denoises the same block twice, on two StreamStates. Engine thread only.

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "core/graph_cache.h"
#include "lipar/prune_plan.h"
#include "lipar/recovery.h"
#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"
#include "pipeline/flow_schedule.h"
#include "pipeline/noise_source.h"

namespace lipar::pipeline {

// What one stream keeps between blocks (compare mode has two): its KV cache, LIPAR's clean K/V
// reference, the previous block's last x0 (restoration of the next block's first frame) and the
// CUDA graphs of its denoising passes (they stay valid across reset(): the cache keeps its
// buffers, and the graphs' keys hold the cache length).
struct StreamState {
    model::KvCache cache;
    accel::ReferenceKv reference;
    torch::Tensor prev_last;  // [1, C, h, w]
    GraphCache graphs;
    StreamState(const model::DitConfig& c, model::KvWindow window, torch::TensorOptions options,
                bool cuda_graphs = true)
        : cache(c.num_layers, c.num_heads, c.head_dim(), window, options),
          reference(c.num_layers),
          graphs(cuda_graphs) {}
    void reset() {
        cache.reset();
        reference.reset();
        prev_last = torch::Tensor();
    }
};

class BlockDenoiser {
public:
    // Parity runs: called with each denoising pass's flow [1, C, f, h, w].
    using FlowObserver = std::function<void(int64_t block, int64_t pass, const torch::Tensor& flow)>;

    BlockDenoiser(model::WanDitImpl& dit, const FlowSchedule& schedule, NoiseSource noise)
        : m_dit(dit), m_schedule(schedule), m_noise(std::move(noise)) {}

    // z [1, C, f, h, w] float32: the block's clean source latents. timesteps: the warped steps
    // (FlowSchedule::warp). Returns the final x0 [1, C, f, h, w] float32.
    torch::Tensor denoise(StreamState& stream, const torch::Tensor& z, const accel::PrunePlan& plan,
                          accel::PruneMode mode, const model::CrossAttnCache& cross,
                          const std::vector<double>& timesteps, uint64_t seed, int64_t block,
                          const FlowObserver& on_flow = {}) const;

private:
    model::WanDitImpl& m_dit;
    const FlowSchedule& m_schedule;
    NoiseSource m_noise;
};

}  // namespace lipar::pipeline
