#include <gtest/gtest.h>

#include "core/device.h"
#include "core/error.h"
#include "lipar/pruned_forward.h"
#include "model/common/attention.h"

namespace lipar::accel {
namespace {

using model::CacheWrite;
using model::KvCache;
using model::KvWindow;

torch::Tensor randn(c10::IntArrayRef shape, uint64_t seed) {
    return torch::randn(shape, at::detail::createCPUGenerator(seed));
}

model::WanDit tiny_dit(uint64_t seed) {
    model::WanDit dit(model::DitConfig::tiny(), torch::TensorOptions());
    model::init_random_weights(*dit, seed);
    return dit;
}

// Streams `blocks` blocks of latents [1, 16, F, 4, 6] through the DiT in `mode` with one denoising
// pass and one commit pass per block; returns the concatenated flows of the denoising passes.
torch::Tensor stream(model::WanDitImpl& dit, PruneMode mode, const torch::Tensor& x,
                     const torch::Tensor& keep, int64_t fpb) {
    const auto& c = dit.config();
    KvCache cache(c.num_layers, c.num_heads, c.head_dim(), KvWindow{1, 3}, torch::TensorOptions());
    ReferenceKv ref(c.num_layers);
    auto cross = dit.encode_context(randn({1, 8, 64}, 99));
    std::vector<torch::Tensor> flows;
    for (int64_t s = 0; s < x.size(2); s += fpb) {
        auto plan = PrunePlan::build(keep.narrow(0, s, fpb), s, c.head_dim(), torch::kCPU);
        auto xb = x.narrow(2, s, fpb);
        flows.push_back(pruned_causal_forward(dit, xb, torch::tensor({700.0}), cross, cache, ref,
                                              plan, mode, CacheWrite::Transient));
        pruned_causal_forward(dit, xb, torch::tensor({0.0}), cross, cache, ref, plan, mode,
                              CacheWrite::Commit);
    }
    return torch::cat(flows, 2);
}

// Lipar with two denoising passes per block (different x each); `refill`: forget the staged
// recovered slots before every pass, as if each pass filled them anew. `tags` receives the
// cache's staging tag after each block's first pass.
torch::Tensor stream_two_passes(model::WanDitImpl& dit, const torch::Tensor& x, const torch::Tensor& keep,
                                bool refill, std::vector<uint64_t>* tags) {
    const auto& c = dit.config();
    KvCache cache(c.num_layers, c.num_heads, c.head_dim(), KvWindow{1, 3}, torch::TensorOptions());
    ReferenceKv ref(c.num_layers);
    auto cross = dit.encode_context(randn({1, 8, 64}, 99));
    std::vector<torch::Tensor> flows;
    for (int64_t s = 0; s < x.size(2); s += 3) {
        auto plan = PrunePlan::build(keep.narrow(0, s, 3), s, c.head_dim(), torch::kCPU);
        auto xb = x.narrow(2, s, 3);
        for (double t : {700.0, 400.0}) {
            if (refill) cache.set_staging_tag(0);
            flows.push_back(pruned_causal_forward(dit, xb * (t / 700.0), torch::tensor({t}), cross,
                                                  cache, ref, plan, PruneMode::Lipar, CacheWrite::Transient));
            if (tags && t == 700.0) tags->push_back(cache.staging_tag());
        }
        if (refill) cache.set_staging_tag(0);
        pruned_causal_forward(dit, xb, torch::tensor({0.0}), cross, cache, ref, plan, PruneMode::Lipar,
                              CacheWrite::Commit);
        EXPECT_EQ(cache.staging_tag(), 0u) << "a commit clears the tag";
    }
    return torch::cat(flows, 2);
}

}  // namespace

TEST(LiparPruned, recovered_slots_are_filled_once_per_block_with_the_same_result) {
    auto dit = tiny_dit(5);
    auto x = randn({1, 16, 9, 4, 6}, 6);
    auto keep = torch::ones({9, 2, 3}, torch::kBool);
    keep[3][0][1] = false;  // blocks 2 and 3 prune
    keep[5][1][2] = false;
    keep[7][0][0] = false;
    keep[8][1][1] = false;
    std::vector<uint64_t> tags;
    auto once = stream_two_passes(*dit, x, keep, false, &tags);
    auto every = stream_two_passes(*dit, x, keep, true, nullptr);
    // Block 1 keeps everything (no recovery, no tag); blocks 2 and 3 leave their own tag.
    ASSERT_EQ(tags.size(), 3u);
    EXPECT_EQ(tags[0], 0u);
    EXPECT_EQ(tags[1], 4u);  // start frame 3 + 1
    EXPECT_EQ(tags[2], 7u);
    EXPECT_TRUE(torch::equal(once, every));
}

TEST(LiparPruned, keeping_every_token_equals_dense_in_naive_and_lipar_modes) {
    auto dit = tiny_dit(1);
    auto x = randn({1, 16, 6, 4, 6}, 2);
    auto keep = torch::ones({6, 2, 3}, torch::kBool);
    auto off = stream(*dit, PruneMode::Off, x, keep, 3);
    // A block that keeps everything computes exactly what off computes, bit for bit.
    EXPECT_TRUE(torch::equal(stream(*dit, PruneMode::Naive, x, keep, 3), off));
    EXPECT_TRUE(torch::equal(stream(*dit, PruneMode::Lipar, x, keep, 3), off));
}

TEST(LiparPruned, pruned_tokens_are_not_computed_and_modes_differ_only_through_kv) {
    auto dit = tiny_dit(3);
    auto x = randn({1, 16, 6, 4, 6}, 4);
    auto keep = torch::ones({6, 2, 3}, torch::kBool);
    keep[4][1][2] = false;  // second block prunes two tokens
    keep[5][0][0] = false;
    auto naive = stream(*dit, PruneMode::Naive, x, keep, 3);
    auto lipar = stream(*dit, PruneMode::Lipar, x, keep, 3);
    auto off = stream(*dit, PruneMode::Off, x, keep, 3);
    // pruned entries are zero (restored later); the first block (all kept) matches dense
    EXPECT_EQ(naive.select(2, 4).select(2, 2).select(2, 4).abs().sum().item<double>(), 0.0);
    EXPECT_LT(relative_error(naive.narrow(2, 0, 3), off.narrow(2, 0, 3)), 1e-6);
    EXPECT_LT(relative_error(lipar.narrow(2, 0, 3), off.narrow(2, 0, 3)), 1e-6);
    // in the second block the kept tokens see different K/V in naive and lipar
    EXPECT_GT(relative_error(naive.select(2, 3), lipar.select(2, 3)), 1e-6);
}

TEST(LiparPruned, attention_recovery_reproduces_dense_attention_when_duplicates_are_exact) {
    // One layer, 2 heads of 128: a committed frame in the cache, a clean reference at every
    // location, and a block of 2 frames on a 2x3 grid where 5 of 12 tokens are pruned. The true
    // K/V of a pruned slot are its location's clean reference key rotated to the slot's own position
    // and its clean value: recovery must then equal dense attention for the kept queries.
    const int64_t H = 2, D = 128, hw = 6, frames = 2, start = 1;
    KvCache cache(1, H, D, KvWindow{1, 0}, torch::TensorOptions());
    auto committed_k = randn({1, hw, H, D}, 10), committed_v = randn({1, hw, H, D}, 11);
    cache.stage(0, committed_k, committed_v);
    cache.commit({{0, 0, hw}});
    ReferenceKv ref(1);
    auto all = PrunePlan::dense(1, 2, 3, 0, D, torch::kCPU);
    auto ref_k = randn({1, hw, H, D}, 12), ref_v = randn({1, hw, H, D}, 13);
    ref.refresh(0, all, ref_k, ref_v);
    ref.mark_refreshed(all);

    auto keep = torch::tensor({1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0}, torch::kBool).view({2, 2, 3});
    auto plan = PrunePlan::build(keep, start, D, torch::kCPU);
    const int64_t nk = plan.kept();
    auto k_pre = randn({1, nk, H, D}, 14), v = randn({1, nk, H, D}, 15), q_pre = randn({1, nk, H, D}, 16);
    auto k = model::apply_rope(k_pre, plan.rope_kept);
    auto q = model::apply_rope(q_pre, plan.rope_kept);

    // dense truth: full block K/V in token order
    auto pos = model::grid_positions(frames, 2, 3, start, torch::kCPU);
    auto rope_all = model::make_rope_table(pos, D);
    auto full_k_pre = torch::zeros({1, frames * hw, H, D});
    auto full_v = torch::zeros({1, frames * hw, H, D});
    full_k_pre.index_copy_(1, plan.kept_index, k_pre);
    full_v.index_copy_(1, plan.kept_index, v);
    full_k_pre.index_copy_(1, plan.pruned_index, ref_k.index_select(1, plan.pruned_loc));
    full_v.index_copy_(1, plan.pruned_index, ref_v.index_select(1, plan.pruned_loc));
    auto dense_k = torch::cat({committed_k, model::apply_rope(full_k_pre, rope_all)}, 1);
    auto dense_v = torch::cat({committed_v, full_v}, 1);
    auto truth = model::attention(q, dense_k, dense_v);

    PrunedKvProvider recovery(cache, ref, plan, PruneMode::Lipar, false);
    ASSERT_TRUE(recovery.recovers());
    auto [rk, rv] = recovery.keys_values(0, k_pre, k, v);
    auto recovered = model::attention(q, rk, rv);
    EXPECT_LT(relative_error(recovered, truth), 1e-5);
    cache.discard_staged();

    PrunedKvProvider naive(cache, ref, plan, PruneMode::Naive, false);
    auto [nk_, nv] = naive.keys_values(0, k_pre, k, v);
    EXPECT_EQ(nk_.size(1), hw + nk);
    EXPECT_GT(relative_error(model::attention(q, nk_, nv), truth), 1e-2);
    cache.discard_staged();
}

TEST(LiparPruned, reference_refresh_keeps_the_last_kept_frame_per_location) {
    const int64_t H = 1, D = 12;
    ReferenceKv ref(1);
    // 3 frames on a 1x2 grid: location 0 kept in frames 0 and 2, location 1 only in frame 0
    auto keep = torch::tensor({1, 1, 0, 0, 1, 0}, torch::kBool).view({3, 1, 2});
    auto plan = PrunePlan::build(keep, 0, D, torch::kCPU);
    ASSERT_EQ(plan.kept(), 3);
    auto k = torch::arange(3, torch::kFloat32).view({1, 3, 1, 1}).expand({1, 3, H, D}).contiguous();
    ref.refresh(0, plan, k, k);
    ref.mark_refreshed(plan);
    EXPECT_TRUE(ref.complete());
    EXPECT_EQ(ref.keys(0)[0][0][0][0].item<float>(), 2.f);  // kept-list row 2 = frame 2
    EXPECT_EQ(ref.keys(0)[0][1][0][0].item<float>(), 1.f);  // kept-list row 1 = frame 0, loc 1
}

TEST(LiparPruned, restoration_copies_the_previous_frame_chain_per_location) {
    // 1 channel, 3 frames, 2x4 pixels = 1x2 tokens of 2x2
    auto x0 = torch::arange(3 * 8, torch::kFloat32).view({1, 1, 3, 2, 4});
    auto prev = torch::full({1, 1, 2, 4}, -1.f);
    auto keep = torch::tensor({0, 1, 1, 0, 0, 0}, torch::kBool).view({3, 1, 2});
    auto plan = PrunePlan::build(keep, 3, 12, torch::kCPU);
    auto out = restore_pruned(x0, plan, prev);
    // frame 0, token 0 (pixels x 0..1) from prev; token 1 computed
    EXPECT_EQ(out[0][0][0][0][0].item<float>(), -1.f);
    EXPECT_EQ(out[0][0][0][1][3].item<float>(), x0[0][0][0][1][3].item<float>());
    // frame 1 token 1 pruned -> frame 0's token 1; frame 2 fully pruned -> frame 1
    EXPECT_EQ(out[0][0][1][0][2].item<float>(), x0[0][0][0][0][2].item<float>());
    EXPECT_EQ(out[0][0][2][0][0].item<float>(), x0[0][0][1][0][0].item<float>());
    EXPECT_EQ(out[0][0][2][1][3].item<float>(), x0[0][0][0][1][3].item<float>());
}

TEST(LiparPruned, plan_counts_and_modes_parse) {
    auto keep = torch::tensor({1, 1, 1, 1, 0, 1, 0, 0}, torch::kBool).view({2, 2, 2});
    auto plan = PrunePlan::build(keep, 0, 12, torch::kCPU);
    EXPECT_EQ(plan.kept(), 5);
    EXPECT_DOUBLE_EQ(plan.kept_ratio(), 5.0 / 8.0);
    EXPECT_DOUBLE_EQ(plan.kept_ratio_per_frame()[1], 0.25);
    EXPECT_EQ(parse_prune_mode("lipar"), PruneMode::Lipar);
    EXPECT_THROW(parse_prune_mode("fast"), Error);
}

}  // namespace lipar::accel
