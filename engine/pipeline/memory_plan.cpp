#include "pipeline/memory_plan.h"

#include <cstdio>

namespace lipar::pipeline {

std::string MemoryPlan::describe() const {
    char buf[512];
    auto gb = [](int64_t b) { return static_cast<double>(b) / 1e9; };
    std::snprintf(buf, sizeof buf,
                  "DiT %.2f GB, KV cache %.2f GB, clean reference %.2f GB, activations ~%.2f GB, "
                  "autoencoder %.2f GB -> steady %.2f GB; with the text encoder while encoding "
                  "(%.2f GB) %.2f GB; compare mode adds %.2f GB",
                  gb(dit_weights), gb(kv_cache), gb(clean_reference), gb(activations),
                  gb(autoencoder), gb(steady()), gb(text_encoder), gb(peak()), gb(compare_extra));
    return buf;
}

MemoryPlan plan_memory(const model::DitConfig& c, int width, int height, int64_t fpb,
                       const model::KvWindow& window, int dtype_bytes, int64_t text_params,
                       int64_t ae_params) {
    MemoryPlan p;
    const int64_t params = c.parameter_count();
    // time embedding/projection, modulations and the head stay in float32
    const int64_t fp32_params = c.freq_dim * c.dim + c.dim * c.dim + 6 * c.dim * c.dim +
                                c.num_layers * 6 * c.dim + 2 * c.dim +
                                c.dim * c.out_channels * c.patch_volume();
    p.dit_weights = (params - fp32_params) * dtype_bytes + fp32_params * 4;
    const int64_t tpf = (height / 8 / c.patch[1]) * (width / 8 / c.patch[2]);
    const int64_t cached_frames = window.sink_frames + window.recent_frames + fpb;
    p.kv_cache = 2 * c.num_layers * cached_frames * tpf * c.dim * dtype_bytes;
    p.clean_reference = 2 * c.num_layers * tpf * c.dim * dtype_bytes;
    const int64_t n = fpb * tpf;
    // residual stream (f32) + a few f32 temporaries, the FFN hidden, q/k/v, cross K/V per layer
    p.activations = n * c.dim * 4 * 6 + n * c.ffn_dim * dtype_bytes * 2 + 3 * n * c.dim * dtype_bytes +
                    2 * c.num_layers * c.text_len * c.dim * dtype_bytes;
    p.autoencoder = ae_params * 2;
    p.text_encoder = text_params * 2;
    p.compare_extra = p.kv_cache;
    return p;
}

}  // namespace lipar::pipeline
