#pragma once
// GPU memory plan of the editor: what each component holds at a resolution, to check a
// configuration against a card before loading it (docs/MEMORY.md).

#include <cstdint>
#include <string>

#include "model/dit/dit_config.h"
#include "model/dit/kv_cache.h"

namespace lipar::pipeline {

struct MemoryPlan {
    int64_t dit_weights = 0;      // compute-dtype projections + float32 modulation/time/head
    int64_t kv_cache = 0;         // sink + recent frames + the staged block, K and V, every layer
    int64_t clean_reference = 0;  // LIPAR's per-location clean K/V (one frame, every layer)
    int64_t activations = 0;      // the largest live intermediates of one pass (estimate)
    int64_t autoencoder = 0;
    int64_t text_encoder = 0;     // resident only while a new prompt is encoded
    int64_t compare_extra = 0;    // compare mode: the baseline's KV cache

    int64_t steady() const { return dit_weights + kv_cache + clean_reference + activations + autoencoder; }
    int64_t peak() const { return steady() + text_encoder; }
    std::string describe() const;
};

// width/height in pixels (8x autoencoder), frames_per_block latent frames, dtype_bytes of the DiT
// compute dtype, text_encoder_params (0 without a resident encoder), autoencoder_params in fp16.
MemoryPlan plan_memory(const model::DitConfig& dit, int width, int height,
                       int64_t frames_per_block, const model::KvWindow& window, int dtype_bytes,
                       int64_t text_encoder_params, int64_t autoencoder_params);

}  // namespace lipar::pipeline
