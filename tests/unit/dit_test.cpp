#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "common/temp_dir.h"
#include "core/device.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/dit/dit_loader.h"
#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"
#include "model/vae/tae_layers.h"
#include "pipeline/flow_schedule.h"

namespace lipar::model {
namespace {

WanDit make_tiny(uint64_t seed, torch::Dtype dtype = torch::kFloat32) {
    WanDit dit(DitConfig::tiny(), torch::TensorOptions().dtype(dtype));
    init_random_weights(*dit, seed);
    return dit;
}

torch::Tensor randn(c10::IntArrayRef shape, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randn(shape, gen);
}

}  // namespace

TEST(Dit, state_dict_names_match_the_published_wan_layout) {
    DitConfig c = DitConfig::wan_1_3b();
    c.dim = 256;  // names do not depend on widths; keep the test light
    c.num_heads = 2;
    c.ffn_dim = 64;
    c.text_dim = 32;
    WanDit dit(c, torch::TensorOptions());
    std::set<std::string> names;
    int64_t numel = 0;
    for (const auto& p : dit->named_parameters()) {
        names.insert(p.key());
        numel += p.value().numel();
    }
    EXPECT_EQ(names.size(), 825u);
    for (const char* expected :
         {"patch_embedding.weight", "patch_embedding.bias", "text_embedding.0.weight",
          "text_embedding.2.bias", "time_embedding.0.weight", "time_embedding.2.weight",
          "time_projection.1.weight", "time_projection.1.bias", "blocks.0.modulation",
          "blocks.29.self_attn.q.weight", "blocks.29.self_attn.norm_k.weight",
          "blocks.7.cross_attn.o.bias", "blocks.7.cross_attn.norm_q.weight", "blocks.3.norm3.weight",
          "blocks.3.norm3.bias", "blocks.3.ffn.0.weight", "blocks.3.ffn.2.bias", "head.modulation",
          "head.head.weight", "head.head.bias"}) {
        EXPECT_TRUE(names.count(expected)) << expected;
    }
    EXPECT_EQ(numel, c.parameter_count());
    // The published 1.3B model has ~1.419e9 parameters.
    EXPECT_NEAR(DitConfig::wan_1_3b().parameter_count() / 1e9, 1.419, 0.002);
}

// Self-attention's q, k, v weights (and biases) are rows of one tensor, so that the CUDA path
// projects with one matrix product; they still save and load under their own names.
TEST(Dit, self_attention_q_k_v_weights_are_consecutive_rows_of_one_tensor_through_save_and_load) {
    auto dit = make_tiny(5);
    test::TempDir dir;
    io::write_safetensors(dir.file("dit.safetensors"), parameters_to_map(*dit));
    auto loaded = load_wan_dit(dir.file("dit.safetensors"), torch::TensorOptions());
    for (auto* model : {&dit, &loaded}) {
        for (const auto& child : (*model)->blocks->children()) {
            auto* block = child->as<WanBlockImpl>();
            ASSERT_NE(block, nullptr);
            const auto& a = *block->self_attn;
            auto w = a.qkv_weight(), b = a.qkv_bias();
            ASSERT_TRUE(w.defined());
            ASSERT_TRUE(b.defined());
            EXPECT_EQ(w.sizes(), (std::vector<int64_t>{3 * a.q->weight.size(0), a.q->weight.size(1)}));
            EXPECT_TRUE(torch::equal(w, torch::cat({a.q->weight, a.k->weight, a.v->weight})));
            EXPECT_TRUE(torch::equal(b, torch::cat({a.q->bias, a.k->bias, a.v->bias})));
            EXPECT_FALSE(block->cross_attn->qkv_weight().defined());
        }
    }
    // The loaded weights are the saved ones, each under its own name.
    auto saved = parameters_to_map(*dit), got = parameters_to_map(*loaded);
    for (const char* name : {"blocks.1.self_attn.q.weight", "blocks.1.self_attn.k.weight",
                             "blocks.1.self_attn.v.weight", "blocks.0.self_attn.v.bias"})
        EXPECT_TRUE(torch::equal(saved.at(name), got.at(name))) << name;
    EXPECT_FALSE(torch::equal(saved.at("blocks.1.self_attn.q.weight"), saved.at("blocks.1.self_attn.k.weight")));
    // A weight written in place is seen through the fused view; a module whose k has its own
    // storage again is not fused.
    auto* block = loaded->blocks->ptr(0)->as<WanBlockImpl>();
    auto& a = *block->self_attn;
    {
        torch::NoGradGuard no_grad;
        a.k->weight.fill_(0.25);
    }
    EXPECT_EQ(a.qkv_weight().narrow(0, a.q->weight.size(0), 1).max().item<float>(), 0.25f);
    {
        torch::NoGradGuard no_grad;
        a.k->weight.set_data(a.k->weight.clone());
    }
    EXPECT_FALSE(a.qkv_weight().defined());
}

TEST(Dit, config_is_read_back_from_weight_shapes) {
    auto dit = make_tiny(1);
    std::map<std::string, torch::Tensor> w;
    for (const auto& p : dit->named_parameters()) w[p.key()] = p.value();
    const DitConfig c = DitConfig::from_weights(w, 128);
    const DitConfig t = DitConfig::tiny();
    EXPECT_EQ(c.dim, t.dim);
    EXPECT_EQ(c.num_heads, t.num_heads);
    EXPECT_EQ(c.num_layers, t.num_layers);
    EXPECT_EQ(c.ffn_dim, t.ffn_dim);
    EXPECT_EQ(c.text_dim, t.text_dim);
    EXPECT_EQ(c.in_channels, 16);
    EXPECT_EQ(c.out_channels, 16);
    w.erase("head.head.weight");
    EXPECT_THROW(DitConfig::from_weights(w), Error);
}

// Found while writing the pack loader's fuzz target (tests/fuzz/fuzz_pack.cpp): shapes a
// checkpoint cannot back with data, or that would crash the size derivation, are refused.
TEST(Dit, config_from_weights_refuses_empty_tensors_huge_block_indices_and_zero_head_dim) {
    auto dit = make_tiny(1);
    std::map<std::string, torch::Tensor> w;
    for (const auto& p : dit->named_parameters()) w[p.key()] = p.value();
    EXPECT_NO_THROW(DitConfig::from_weights(w, 128));
    auto message = [](const std::function<void()>& f) {
        try {
            f();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    {  // an empty FFN weight would claim a 10^12-wide layer with no data behind it
        auto e = w;
        e["blocks.0.ffn.0.weight"] = torch::zeros({1'000'000'000'000LL, 0});
        EXPECT_NE(message([&] { DitConfig::from_weights(e, 128); }).find("is empty"), std::string::npos);
    }
    {  // a block index that does not fit in 64 bits (std::stoll would throw out_of_range)
        auto e = w;
        e["blocks.99999999999999999999999.norm3.weight"] = torch::ones({4});
        EXPECT_NE(message([&] { DitConfig::from_weights(e, 128); }).find("implausible block index"),
                  std::string::npos);
    }
    EXPECT_NE(message([&] { DitConfig::from_weights(w, 0); }).find("head_dim must be > 0"), std::string::npos);
}

TEST(Dit, rope_rotates_each_pair_by_position_times_its_frequency) {
    // frame 1, h 2, w 0; head_dim 128: groups of 22 / 21 / 21 pairs
    auto pos = torch::tensor({1, 2, 0}, torch::kInt64).view({1, 3});
    auto table = make_rope_table(pos, 128);
    EXPECT_NEAR(table.cos[0][0].item<double>(), std::cos(1.0), 1e-6);
    EXPECT_NEAR(table.sin[0][1].item<double>(), std::sin(std::pow(10000.0, -2.0 / 44)), 1e-6);
    EXPECT_NEAR(table.sin[0][22].item<double>(), std::sin(2.0), 1e-6);  // first h pair
    EXPECT_NEAR(table.sin[0][23].item<double>(), std::sin(2.0 * std::pow(10000.0, -2.0 / 42)), 1e-6);
    EXPECT_NEAR(table.cos[0][43].item<double>(), 1.0, 1e-7);  // w = 0: identity
    auto x = torch::zeros({1, 1, 1, 128});
    x[0][0][0][0] = 1.0;
    auto y = apply_rope(x, table);
    EXPECT_NEAR(y[0][0][0][0].item<double>(), std::cos(1.0), 1e-6);
    EXPECT_NEAR(y[0][0][0][1].item<double>(), std::sin(1.0), 1e-6);
}

TEST(Dit, sinusoidal_timestep_features_follow_wan) {
    auto e = sinusoidal_embedding(torch::tensor({0.0, 500.0}), 256);
    ASSERT_EQ(e.sizes(), (std::vector<int64_t>{2, 256}));
    EXPECT_DOUBLE_EQ(e[0][0].item<double>(), 1.0);    // cos(0)
    EXPECT_DOUBLE_EQ(e[0][128].item<double>(), 0.0);  // sin(0)
    EXPECT_NEAR(e[1][1].item<double>(), std::cos(500.0 * std::pow(10000.0, -1.0 / 128)), 1e-12);
    EXPECT_NEAR(e[1][130].item<double>(), std::sin(500.0 * std::pow(10000.0, -2.0 / 128)), 1e-12);
}

TEST(Dit, uniform_per_frame_timesteps_equal_one_timestep_per_sample) {
    auto dit = make_tiny(2);
    auto x = randn({1, 16, 3, 4, 6}, 3);
    auto ctx = randn({1, 8, 64}, 4);
    auto a = dit->forward(x, torch::tensor({700.0}), ctx);
    auto b = dit->forward(x, torch::full({1, 3}, 700.0), ctx);
    EXPECT_EQ(a.sizes(), x.sizes());
    EXPECT_TRUE(torch::allclose(a, b, 1e-6, 1e-6));
    // ... and a different timestep on one frame changes that frame's output
    auto t = torch::full({1, 3}, 700.0);
    t[0][2] = 100.0;
    auto c = dit->forward(x, t, ctx);
    EXPECT_FALSE(torch::allclose(a.select(2, 2), c.select(2, 2), 1e-4, 1e-4));
}

TEST(Dit, modulated_layer_norm_folds_one_row_into_the_norm_and_equals_the_plain_form) {
    WanLayerNorm norm(16, 1e-6, false, torch::TensorOptions());
    auto x = randn({1, 5, 16}, 20);
    auto scale = randn({1, 1, 16}, 21), shift = randn({1, 1, 16}, 22);
    EXPECT_TRUE(torch::allclose(norm->modulated(x, scale, shift), norm(x) * scale + shift, 1e-5, 1e-6));
    auto scale_n = randn({1, 5, 16}, 23), shift_n = randn({1, 5, 16}, 24);  // one row per token
    EXPECT_TRUE(torch::allclose(norm->modulated(x, scale_n, shift_n), norm(x) * scale_n + shift_n,
                                1e-5, 1e-6));
}

TEST(Dit, time_conditioning_of_a_cpu_timestep_is_cached_until_the_weights_change) {
    auto dit = make_tiny(7);
    torch::NoGradGuard no_grad;
    auto a = dit->time_conditioning(torch::full({1}, 500.0));
    auto b = dit->time_conditioning(torch::full({1}, 500.0));
    EXPECT_EQ(a.e0.data_ptr(), b.e0.data_ptr());  // served from the cache
    ASSERT_EQ(static_cast<int64_t>(a.block_mod.size()), dit->config().num_layers);
    // Each block's rows: e0 + its modulation, the scale rows as 1 + scale.
    const auto& mod = dit->blocks->ptr(1)->as<WanBlock>()->modulation;
    EXPECT_TRUE(torch::allclose(a.block_mod[1].select(2, 0), a.e0.select(2, 0) + mod.select(1, 0)));
    EXPECT_TRUE(torch::allclose(a.block_mod[1].select(2, 4), a.e0.select(2, 4) + mod.select(1, 4) + 1));
    EXPECT_NE(dit->time_conditioning(torch::full({1}, 400.0)).e0.data_ptr(), a.e0.data_ptr());
    // Weights changed in place (a training step): made again.
    for (auto& p : dit->time_projection->parameters()) p.mul_(2.0);
    auto c = dit->time_conditioning(torch::full({1}, 500.0));
    EXPECT_FALSE(torch::allclose(c.e0, a.e0));
    // Training never caches and leaves the rows to the blocks.
    dit->train();
    torch::AutoGradMode grad(true);
    EXPECT_TRUE(dit->time_conditioning(torch::full({1}, 500.0)).block_mod.empty());
}

TEST(Dit, a_bf16_model_made_under_inference_mode_runs_and_caches_its_timesteps) {
    // The engine thread builds and runs its models under c10::InferenceMode: their weights keep
    // no version counter, which the timestep cache and the float32 norm-weight copies must
    // not ask for ("Inference tensors do not track version counter" on CUDA before the fix).
    c10::InferenceMode inference;
    auto dit = make_tiny(8, torch::kBFloat16);
    auto x = randn({1, 16, 1, 4, 4}, 9), ctx = randn({1, 8, 64}, 10);
    auto a = dit->forward(x, torch::tensor({500.0}), ctx);
    auto b = dit->forward(x, torch::tensor({500.0}), ctx);
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_EQ(dit->time_conditioning(torch::full({1}, 500.0)).e0.data_ptr(),
              dit->time_conditioning(torch::full({1}, 500.0)).e0.data_ptr());
}

TEST(Dit, a_bf16_residual_stream_stays_bf16_tracks_the_float32_stream_and_never_trains) {
    auto dit = make_tiny(12, torch::kBFloat16);
    auto f32_model = make_tiny(12);
    auto x = randn({1, 16, 3, 4, 4}, 13), ctx = randn({1, 8, 64}, 14);
    const auto t = torch::tensor({700.0});
    torch::Tensor stream32, stream16, exact;
    {
        torch::NoGradGuard no_grad;
        exact = f32_model->forward(x, t, ctx);
        stream32 = dit->forward(x, t, ctx);
        EXPECT_EQ(dit->embed_patches(x).scalar_type(), torch::kFloat32);
        dit->set_bf16_residual(true);
        EXPECT_EQ(dit->embed_patches(x).scalar_type(), torch::kBFloat16);
        stream16 = dit->forward(x, t, ctx);
    }
    EXPECT_EQ(stream16.scalar_type(), torch::kFloat32);  // the head still answers in float32
    EXPECT_FALSE(torch::equal(stream16, stream32));      // the option changes the numerics...
    // ...by a bf16 rounding's worth: both stay near the float32 model.
    const double e32 = relative_error(stream32, exact), e16 = relative_error(stream16, exact);
    std::cout << "[ info ] bf16 model vs f32 model: f32 stream " << e32 << ", bf16 stream " << e16 << "\n";
    EXPECT_LT(e32, 3e-2);
    EXPECT_LT(e16, 5e-2);
    // Training (autograd on) keeps the float32 stream whatever the option says.
    EXPECT_EQ(dit->residual_dtype(), torch::kFloat32);
    auto f32_dit = make_tiny(12);
    f32_dit->set_bf16_residual(true);  // a float32 model has no bf16 stream to use
    torch::NoGradGuard no_grad;
    EXPECT_EQ(f32_dit->residual_dtype(), torch::kFloat32);
}

TEST(Dit, output_depends_on_the_prompt_and_is_deterministic) {
    auto dit = make_tiny(5);
    auto x = randn({1, 16, 1, 4, 4}, 6);
    auto a = dit->forward(x, torch::tensor({500.0}), randn({1, 8, 64}, 7));
    auto b = dit->forward(x, torch::tensor({500.0}), randn({1, 8, 64}, 7));
    auto c = dit->forward(x, torch::tensor({500.0}), randn({1, 8, 64}, 8));
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_GT((a - c).abs().max().item<double>(), 1e-3);
}

TEST(Dit, wrong_latent_shapes_are_reported_with_both_shapes) {
    auto dit = make_tiny(1);
    try {
        dit->forward(torch::zeros({1, 8, 1, 4, 4}), torch::tensor({1.0}), torch::zeros({1, 4, 64}));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::ShapeMismatch);
        EXPECT_NE(std::string(e.what()).find("8 channels"), std::string::npos) << e.what();
    }
    EXPECT_THROW(dit->forward(torch::zeros({1, 16, 1, 5, 4}), torch::tensor({1.0}),
                              torch::zeros({1, 4, 64})),
                 Error);
}

struct StreamCase {
    int64_t blocks, frames_per_block, sink, recent;
};

class DitCausal : public ::testing::TestWithParam<StreamCase> {};

TEST_P(DitCausal, streaming_with_kv_cache_equals_full_forward_under_block_causal_mask) {
    use_all_cpu_threads();
    const auto p = GetParam();
    auto dit = make_tiny(11);
    const int64_t frames = p.blocks * p.frames_per_block, H = 4, W = 6, tpf = (H / 2) * (W / 2);
    auto x = randn({1, 16, frames, H, W}, 21);
    auto x_clean = randn({1, 16, frames, H, W}, 22);
    auto t = torch::rand({1, frames}, at::detail::createCPUGenerator(23)) * 1000.0;
    auto ctx = randn({1, 8, 64}, 24);
    KvWindow window{p.sink, p.recent};

    KvCache cache(dit->config().num_layers, dit->config().num_heads, dit->config().head_dim(),
                  window, torch::TensorOptions());
    auto cross = dit->encode_context(ctx);
    std::vector<torch::Tensor> flows;
    for (int64_t b = 0; b < p.blocks; ++b) {
        const int64_t s = b * p.frames_per_block;
        auto xb = x.narrow(2, s, p.frames_per_block);
        auto tb = t.narrow(1, s, p.frames_per_block);
        flows.push_back(causal_forward(*dit, xb, tb, cross, cache, s, CacheWrite::Transient));
        causal_forward(*dit, x_clean.narrow(2, s, p.frames_per_block),
                       torch::zeros({1, p.frames_per_block}), cross, cache, s, CacheWrite::Commit);
        if (p.recent > 0) {
            EXPECT_LE(static_cast<int64_t>(cache.frames().size()), p.sink + p.recent);
        }
    }
    auto streamed = torch::cat(flows, 2);

    DenseOptions opts;
    for (int64_t part = 0; part < 2; ++part)
        for (int64_t f = 0; f < frames; ++f) opts.frame_positions.push_back(f);
    opts.mask = teacher_forcing_mask(frames, p.frames_per_block, tpf, window);
    auto full = dit->forward(torch::cat({x_clean, x}, 2), torch::cat({torch::zeros_like(t), t}, 1),
                             ctx, opts);
    auto reference = full.narrow(2, frames, frames);
    const double rel = relative_error(streamed, reference);
    EXPECT_LT(rel, 1e-4) << "relative error " << rel;
    // The mask matters: without the cache (each block alone) the result differs.
    KvCache empty(dit->config().num_layers, dit->config().num_heads, dit->config().head_dim(),
                  window, torch::TensorOptions());
    auto alone = causal_forward(*dit, x.narrow(2, frames - p.frames_per_block, p.frames_per_block),
                                t.narrow(1, frames - p.frames_per_block, p.frames_per_block), cross,
                                empty, frames - p.frames_per_block, CacheWrite::Transient);
    EXPECT_GT(relative_error(alone, reference.narrow(2, frames - p.frames_per_block,
                                                     p.frames_per_block)),
              1e-3);
}

INSTANTIATE_TEST_SUITE_P(Windows, DitCausal,
                         ::testing::Values(StreamCase{3, 3, 0, 0},   // global attention
                                           StreamCase{4, 3, 1, 3},   // sink + window
                                           StreamCase{4, 2, 1, 3},   // window across blocks
                                           StreamCase{5, 1, 2, 2}),  // one frame per block
                         [](const ::testing::TestParamInfo<StreamCase>& info) {
                             const auto& p = info.param;
                             return "blocks" + std::to_string(p.blocks) + "_fpb" +
                                    std::to_string(p.frames_per_block) + "_sink" +
                                    std::to_string(p.sink) + "_recent" + std::to_string(p.recent);
                         });

TEST(DitKvCache, eviction_keeps_the_sink_and_the_most_recent_frames) {
    KvCache cache(1, 1, 2, KvWindow{1, 2}, torch::TensorOptions());
    for (int64_t f = 0; f < 5; ++f) {
        auto k = torch::full({1, 3, 1, 2}, static_cast<float>(f));
        cache.stage(0, k, k);
        cache.commit({{f, 0, 3}});
    }
    ASSERT_EQ(cache.frames().size(), 3u);
    EXPECT_EQ(cache.frames()[0].frame, 0);
    EXPECT_EQ(cache.frames()[1].frame, 3);
    EXPECT_EQ(cache.frames()[2].frame, 4);
    auto keys = cache.keys(0);
    ASSERT_EQ(keys.size(1), 9);
    EXPECT_EQ(keys[0][0][0][0].item<float>(), 0.f);
    EXPECT_EQ(keys[0][3][0][0].item<float>(), 3.f);
    EXPECT_EQ(keys[0][8][0][0].item<float>(), 4.f);
}

// Pipeline stages commit a pass layer by layer on different threads: each layer's bookkeeping is
// its own, so a layer already committed and evicted while another still holds its staged block
// attends to exactly what it would after a whole-cache commit.
TEST(DitKvCache, layers_commit_and_evict_independently) {
    KvCache cache(2, 1, 2, KvWindow{1, 1}, torch::TensorOptions());
    auto block = [](float f) { return torch::full({1, 2, 1, 2}, f); };
    for (int64_t f = 0; f < 3; ++f) {
        for (int64_t layer = 0; layer < 2; ++layer) cache.stage(layer, block(float(f)), block(float(f)));
        cache.commit({{f, 0, 2}});
    }
    // Frame 3: layer 1 commits (and evicts frame 2) first, while layer 0 still stages it.
    cache.stage(0, block(3.f), block(3.f));
    cache.stage(1, block(3.f), block(3.f));
    cache.commit_layer(1, {{3, 0, 2}});
    EXPECT_EQ(cache.committed_tokens(1), 4);  // sink frame 0 + frame 3
    EXPECT_EQ(cache.committed_tokens(0), 4);  // frames 0 and 2, frame 3 still staged
    EXPECT_EQ(cache.staged_keys_values(0).first.size(1), 6);
    EXPECT_EQ(cache.keys(1)[0][2][0][0].item<float>(), 3.f);
    EXPECT_EQ(cache.keys(0)[0][2][0][0].item<float>(), 2.f);
    EXPECT_EQ(cache.staged_keys_values(0).first[0][4][0][0].item<float>(), 3.f);
    cache.commit_layer(0, {{3, 0, 2}});
    for (int64_t layer = 0; layer < 2; ++layer) {
        EXPECT_TRUE(torch::equal(cache.keys(layer), torch::cat({block(0.f), block(3.f)}, 1))) << layer;
    }
    ASSERT_EQ(cache.frames().size(), 2u);
    EXPECT_EQ(cache.frames()[1].frame, 3);
    // A commit must match what the layer staged.
    cache.stage(0, block(4.f), block(4.f));
    EXPECT_THROW(cache.commit_layer(0, {{4, 0, 3}}), Error);
    EXPECT_THROW(cache.commit_layer(1, {{4, 0, 2}}), Error);  // layer 1 staged nothing
}

}  // namespace lipar::model

namespace lipar::pipeline {

TEST(FlowSchedule, warped_steps_match_self_forcing) {
    FlowSchedule s(5.0);
    const auto t = s.warp(std::vector<double>{1000, 750, 500, 250});
    EXPECT_DOUBLE_EQ(t[0], 1000.0);
    EXPECT_NEAR(t[1], 937.5, 1e-9);
    EXPECT_NEAR(t[2], 833.3333333, 1e-6);
    EXPECT_NEAR(t[3], 625.0, 1e-9);
    // LIPAR's SDEdit steps [400, 350, 250]
    EXPECT_NEAR(s.warp(400), 1000.0 * 2.0 / 2.6, 1e-9);
    EXPECT_THROW(s.warp(0), Error);
    EXPECT_THROW(s.warp(1001), Error);
}

TEST(FlowSchedule, x0_and_renoise_invert_each_other) {
    auto x0 = torch::randn({2, 3});
    auto noise = torch::randn({2, 3});
    const double sigma = 0.7;
    auto xt = FlowSchedule::add_noise(x0, noise, sigma);
    auto flow = noise - x0;
    EXPECT_TRUE(torch::allclose(FlowSchedule::x0_from_flow(xt, flow, sigma), x0, 1e-5, 1e-6));
}

}  // namespace lipar::pipeline

namespace lipar::model {

TEST(DitKvCache, eviction_moves_variable_length_and_empty_frames_correctly) {
    // Frames of 2, 0, 3, 1 tokens with window sink 1 + recent 2: after the last commit the cache
    // holds frames 0, 2, 3 in order, each token carrying its frame number.
    KvCache cache(1, 1, 2, KvWindow{1, 2}, torch::TensorOptions());
    const int64_t sizes[] = {2, 0, 3, 1};
    for (int64_t f = 0; f < 4; ++f) {
        auto k = torch::full({1, sizes[f], 1, 2}, static_cast<float>(f));
        cache.stage(0, k, k);
        cache.commit({{f, 0, sizes[f]}});
    }
    ASSERT_EQ(cache.frames().size(), 3u);
    auto keys = cache.keys(0).select(3, 0).flatten();
    ASSERT_EQ(keys.numel(), 6);
    const float expected[] = {0, 0, 2, 2, 2, 3};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(keys[i].item<float>(), expected[i]) << i;
}

}  // namespace lipar::model
