#include <gtest/gtest.h>

#include "model/dit/kv_cache.h"
#include "pipeline/memory_plan.h"

namespace lipar::pipeline {

TEST(MemoryPlan, the_editor_at_480x832_fits_a_24_gb_card_with_the_text_encoder_offloaded) {
    // Wan 1.3B in bf16, 3 latent frames per block, sink 1 + 6 recent; UMT5-XXL (5.68e9 params)
    // resident only while encoding; TAEHV ~11M params.
    const auto plan = plan_memory(model::DitConfig::wan_1_3b(), 832, 480, 3, model::KvWindow{1, 6},
                                  2, 5680000000LL, 11000000);
    EXPECT_NEAR(plan.dit_weights / 1e9, 2.9, 0.1);                // ~2.84 GB of bf16 + f32 parts
    EXPECT_EQ(plan.kv_cache, 2LL * 30 * 10 * 1560 * 1536 * 2);    // 2.88 GB
    EXPECT_LT(plan.steady(), 9LL * 1000 * 1000 * 1000);
    EXPECT_LT(plan.peak(), 24LL * 1000 * 1000 * 1000);            // 24 GB with UMT5 loaded
    EXPECT_GT(plan.peak() + plan.text_encoder, 24LL * 1000 * 1000 * 1000 - 2LL * 1000 * 1000 * 1000);
}

TEST(MemoryPlan, kv_cache_estimate_equals_the_allocated_cache) {
    model::DitConfig c = model::DitConfig::tiny();
    const int width = 128, height = 64;  // 8x4 tokens per frame
    const auto plan = plan_memory(c, width, height, 3, model::KvWindow{1, 2}, 4, 0, 0);
    model::KvCache cache(c.num_layers, c.num_heads, c.head_dim(), model::KvWindow{1, 2},
                         torch::TensorOptions());
    // fill to the steady state: 1 sink + 2 recent committed, a 3-frame block staged
    for (int64_t f = 0; f < 6; f += 3) {
        for (int64_t l = 0; l < c.num_layers; ++l) {
            auto k = torch::zeros({1, 3 * 32, c.num_heads, c.head_dim()});
            cache.stage(l, k, k);
        }
        cache.commit({{f, 0, 32}, {f + 1, 0, 32}, {f + 2, 0, 32}});
    }
    for (int64_t l = 0; l < c.num_layers; ++l) {
        auto k = torch::zeros({1, 3 * 32, c.num_heads, c.head_dim()});
        cache.stage(l, k, k);
    }
    EXPECT_LE(cache.memory_bytes(), plan.kv_cache * 3 / 2);  // capacity grows by at most 1.5x
    EXPECT_GE(cache.memory_bytes(), plan.kv_cache);
}

}  // namespace lipar::pipeline
