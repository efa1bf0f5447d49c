// CUDA graphs of the denoising passes (core/graph_cache.h, lipar/pruned_forward.cpp): a stream
// whose transient passes are replayed from graphs gives the flows of the same stream run eagerly,
// in every mode, over blocks whose kept counts repeat (replays) and change (new captures), with
// the cache filling up and evicting.
#include <gtest/gtest.h>

#include "core/device.h"
#include "core/graph_cache.h"
#include "lipar/pruned_forward.h"
#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"

namespace lipar::accel {

namespace {

struct Stream {
    model::KvCache cache;
    ReferenceKv reference;
    explicit Stream(const model::DitConfig& c, torch::TensorOptions o)
        : cache(c.num_layers, c.num_heads, c.head_dim(), model::KvWindow{1, 3}, o),
          reference(c.num_layers) {}
};

// Flows of every transient pass of `blocks` blocks; graphs == nullptr runs eagerly.
std::vector<torch::Tensor> run_stream(model::WanDitImpl& dit, const model::CrossAttnCache& cross,
                                      PruneMode mode, torch::TensorOptions o, GraphCache* graphs) {
    const auto& c = dit.config();
    Stream s(c, o);
    const int64_t fpb = 3, gh = 4, gw = 6, n = fpb * gh * gw;
    s.cache.reserve(1, (1 + 3 + fpb) * gh * gw);
    auto gen = at::detail::createCPUGenerator(11);
    const std::vector<int64_t> kept_counts{n, 40, 40, 24, 40, 24, 24, n, 40};
    std::vector<torch::Tensor> flows;
    auto f32 = o.dtype(torch::kFloat32);
    for (size_t b = 0; b < kept_counts.size(); ++b) {
        const int64_t start = static_cast<int64_t>(b) * fpb;
        auto keep = torch::zeros({n}, torch::kBool);
        keep.index_fill_(0, torch::randperm(n, gen).narrow(0, 0, kept_counts[b]), true);
        auto plan = b == 0 || mode == PruneMode::Off
                        ? PrunePlan::dense(fpb, gh, gw, start, c.head_dim(), o.device())
                        : PrunePlan::build(keep.view({fpb, gh, gw}), start, c.head_dim(), o.device());
        for (double t : {900.0, 700.0, 400.0}) {
            auto x = torch::randn({1, c.in_channels, fpb, 2 * gh, 2 * gw}, gen).to(f32);
            flows.push_back(pruned_causal_forward(dit, x, torch::full({1}, t), cross, s.cache,
                                                  s.reference, plan, mode,
                                                  model::CacheWrite::Transient, graphs));
        }
        auto clean = torch::randn({1, c.in_channels, fpb, 2 * gh, 2 * gw}, gen).to(f32);
        pruned_causal_forward(dit, clean, torch::zeros({1}), cross, s.cache, s.reference, plan,
                              mode, model::CacheWrite::Commit, graphs);
    }
    return flows;
}

}  // namespace

TEST(GpuGraphs, graphed_denoising_passes_equal_eager_ones_in_every_mode) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    torch::NoGradGuard no_grad;
    for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
        auto o = torch::TensorOptions().device(torch::kCUDA).dtype(dtype);
        model::WanDit dit(model::DitConfig::tiny(), o);
        model::init_random_weights(*dit, 4);
        auto cross = dit->encode_context(torch::randn({1, 8, dit->config().text_dim}).cuda());
        for (auto mode : {PruneMode::Off, PruneMode::Naive, PruneMode::Lipar}) {
            GraphCache graphs;
            auto eager = run_stream(*dit, cross, mode, o, nullptr);
            auto graphed = run_stream(*dit, cross, mode, o, &graphs);
            ASSERT_EQ(eager.size(), graphed.size());
            double worst = 0;
            for (size_t i = 0; i < eager.size(); ++i) {
                worst = std::max(worst, relative_error(graphed[i].cpu(), eager[i].cpu()));
            }
            const auto& st = graphs.stats();
            std::cout << "[ info ] " << dtype_name(dtype) << " " << prune_mode_name(mode)
                      << ": graphed vs eager worst relative difference " << worst << "; "
                      << graph_stats_line(st, true) << "\n";
            // The same kernels on the same data: equal up to library algorithm choices.
            EXPECT_LT(worst, dtype == torch::kFloat32 ? 1e-5 : 1e-2) << prune_mode_name(mode);
            EXPECT_EQ(st.failures, 0);
            EXPECT_GT(st.captures, 0) << "no pass was graphed";
            EXPECT_GT(st.replays, st.captures) << "graphs were captured but not replayed";
        }
    }
}

TEST(GpuGraphs, a_new_prompt_drops_the_graphs_and_is_used) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    torch::NoGradGuard no_grad;
    auto o = torch::TensorOptions().device(torch::kCUDA);
    model::WanDit dit(model::DitConfig::tiny(), o);
    model::init_random_weights(*dit, 6);
    const auto& c = dit->config();
    auto cross_a = dit->encode_context(torch::randn({1, 8, c.text_dim}).cuda());
    auto cross_b = dit->encode_context(torch::randn({1, 8, c.text_dim}).cuda());
    Stream s(c, o);
    s.cache.reserve(1, 7 * 24);
    auto plan = PrunePlan::dense(3, 4, 6, 0, c.head_dim(), o.device());
    auto x = torch::randn({1, c.in_channels, 3, 8, 12}, o);
    GraphCache graphs;
    auto pass = [&](const model::CrossAttnCache& cross, GraphCache* g) {
        return pruned_causal_forward(*dit, x, torch::full({1}, 500.0), cross, s.cache, s.reference,
                                     plan, PruneMode::Off, model::CacheWrite::Transient, g);
    };
    for (int i = 0; i < 3; ++i) pass(cross_a, &graphs);  // eager, capture, replay
    EXPECT_EQ(graphs.stats().captures, 1);
    auto b_graphed = pass(cross_b, &graphs);
    EXPECT_LT(relative_error(b_graphed.cpu(), pass(cross_b, nullptr).cpu()), 1e-5);
    EXPECT_GT(relative_error(b_graphed.cpu(), pass(cross_a, nullptr).cpu()), 1e-2);
}

}  // namespace lipar::accel
