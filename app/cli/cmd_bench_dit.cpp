// `lipar bench-dit`: times the causal DiT on one block with random weights — one denoising pass
// attending a filled KV cache, and the t = 0 pass that commits the block — and reports the
// achieved matrix throughput against a measured bf16 matrix-product ceiling on the same device.
// `--kept 1,0.6,0.2`: the same denoising pass pruned to those fractions of the block's tokens
// (LIPAR and naive, kept counts rounded up to shape buckets), against the dense pass and the
// ideal 1/kept, with the host's share: the time until the call returned (kernels enqueued) and
// until the device finished. Where the two are equal, the pass is bound by the host.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "core/gpu_memory.h"
#include "core/timer.h"
#include "lipar/pruned_forward.h"
#include "lipar/shape_bucket.h"
#include "model/common/fused_ops.h"
#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"

namespace lipar::cli {

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

// Multiply-add FLOPs of one DiT pass over n query tokens attending m keys, l text tokens.
double dit_flops(const model::DitConfig& c, double n, double m, double l) {
    const double d = static_cast<double>(c.dim), ffn = static_cast<double>(c.ffn_dim);
    const double per_layer = 2 * n * d * d * 4      // self q k v o
                             + 2 * 2 * n * m * d    // QK^T and PV
                             + 2 * n * d * d * 2    // cross q o (k v cached per prompt)
                             + 2 * 2 * n * l * d    // cross attention
                             + 2 * 2 * n * d * ffn; // FFN
    return per_layer * static_cast<double>(c.num_layers);
}

double matmul_tflops(const torch::Device& device, torch::Dtype dtype) {
    const int64_t s = device.is_cuda() ? 8192 : 1024;
    auto a = torch::randn({s, s}, torch::TensorOptions().device(device).dtype(dtype));
    auto b = torch::randn({s, s}, torch::TensorOptions().device(device).dtype(dtype));
    for (int i = 0; i < 3; ++i) torch::mm(a, b);
    std::vector<double> ms;
    for (int i = 0; i < 10; ++i) {
        synchronize(device);
        Timer t;
        torch::mm(a, b);
        ms.push_back(t.elapsed_ms(device));
    }
    return 2.0 * s * s * s / (median(ms) * 1e-3) / 1e12;
}

}  // namespace

int cmd_bench_dit(const CommandArgs& argv) {
    Args args("bench-dit", argv);
    args.option("config", "DiT configuration: tiny or wan-1.3b", "wan-1.3b")
        .option("size", "video size WxH (latents are 1/8, tokens 1/16)", "832x480")
        .option("frames-per-block", "latent frames per block", "3")
        .option("cache-frames", "latent frames in the KV cache while timing", "6")
        .option("sink", "sink frames within the cache", "1")
        .option("text-len", "prompt tokens", "512")
        .option("iters", "timed iterations (median reported)", "10")
        .option("device", "cpu, cuda or auto", "auto")
        .option("dtype", "compute dtype", "bf16")
        .option("seed", "weight seed", "0")
        .option("kept", "also time pruned passes keeping these fractions of the tokens "
                        "(comma-separated, e.g. 1,0.6,0.2)");
    if (!args.parse()) return 0;
    torch::NoGradGuard no_grad;
    const auto device = parse_device(args.get("device"));
    const auto dtype = parse_dtype(args.get("dtype"));
    if (!device.is_cuda()) use_all_cpu_threads();
    const auto config = model::DitConfig::by_name(args.get("config"));
    const auto [width, height] = args.get_size("size");
    const int64_t fpb = args.get_int("frames-per-block");
    const int64_t cache_frames = args.get_int("cache-frames");
    const int64_t sink = args.get_int("sink");
    const int64_t text_len = args.get_int("text-len");
    const int iters = static_cast<int>(args.get_int("iters"));
    LIPAR_CHECK(width % 16 == 0 && height % 16 == 0, StatusCode::InvalidArgument,
                "--size must be a multiple of 16 in both directions");
    LIPAR_CHECK(cache_frames % fpb == 0 && cache_frames > sink, StatusCode::InvalidArgument,
                "--cache-frames must be a multiple of --frames-per-block and exceed --sink");
    std::vector<double> kept_list;
    if (args.has("kept")) {
        for (const auto& item : split_list(args.get("kept"))) {
            char* end = nullptr;
            const double v = std::strtod(item.c_str(), &end);
            LIPAR_CHECK(end && *end == '\0' && !item.empty() && v > 0.0 && v <= 1.0,
                        StatusCode::InvalidArgument, "--kept: '", item,
                        "' is not a fraction in (0, 1] (e.g. --kept 1,0.6,0.2)");
            kept_list.push_back(v);
        }
    }

    const auto opts = torch::TensorOptions().device(device).dtype(dtype);
    model::WanDit dit(config, opts);
    model::init_random_weights(*dit, static_cast<uint64_t>(args.get_int("seed")));
    const int64_t lh = height / 8, lw = width / 8, tpf = (lh / 2) * (lw / 2);
    std::printf("device %s, %s, dtype %s, %lldx%lld -> %lld tokens per latent frame\n",
                device_description(device).c_str(), config.describe().c_str(),
                dtype_name(dtype).c_str(), (long long)width, (long long)height, (long long)tpf);

    auto f32 = torch::TensorOptions().device(device).dtype(torch::kFloat32);
    auto context = torch::randn({1, text_len, config.text_dim}, f32);
    auto cross = dit->encode_context(context);
    model::KvCache cache(config.num_layers, config.num_heads, config.head_dim(),
                         model::KvWindow{sink, cache_frames - sink}, opts);
    int64_t frame = 0;
    auto block = [&] { return torch::randn({1, config.in_channels, fpb, lh, lw}, f32); };
    auto t0 = torch::zeros({1}, f32);
    auto tn = torch::full({1}, 769.23, f32);
    while (frame < cache_frames) {  // fill the cache
        model::causal_forward(*dit, block(), t0, cross, cache, frame, model::CacheWrite::Commit);
        frame += fpb;
    }
    reset_peak_gpu_memory(device);
    std::vector<double> denoise_ms, commit_ms;
    for (int i = 0; i < iters + 2; ++i) {
        auto x = block();
        synchronize(device);
        Timer t1;
        model::causal_forward(*dit, x, tn, cross, cache, frame, model::CacheWrite::Transient);
        const double a = t1.elapsed_ms(device);
        Timer t2;
        model::causal_forward(*dit, x, t0, cross, cache, frame, model::CacheWrite::Commit);
        const double b = t2.elapsed_ms(device);
        frame += fpb;
        if (i >= 2) {  // warm-up
            denoise_ms.push_back(a);
            commit_ms.push_back(b);
        }
    }
    const double n = static_cast<double>(fpb * tpf);
    const double m = static_cast<double>(cache.committed_tokens()) + n;
    const double flops = dit_flops(config, n, m, static_cast<double>(text_len));
    const double ceiling = matmul_tflops(device, dtype);
    const double dm = median(denoise_ms), cm = median(commit_ms);
    const auto mem = gpu_memory_stats(device);
    std::printf("block: %lld frames = %lld query tokens; cache %lld frames (sink %lld) -> %lld keys\n",
                (long long)fpb, (long long)n, (long long)cache.frames().size(), (long long)sink,
                (long long)m);
    std::printf("model FLOPs per pass: %.2f TFLOP\n", flops / 1e12);
    std::printf("measured %s matmul ceiling: %.0f TFLOP/s\n", dtype_name(dtype).c_str(), ceiling);
    std::printf("denoising pass (t>0, transient KV): median %.2f ms over %d -> %.0f TFLOP/s = %.0f%% of ceiling\n",
                dm, iters, flops / (dm * 1e-3) / 1e12, 100.0 * flops / (dm * 1e-3) / 1e12 / ceiling);
    std::printf("cache pass (t=0, commit + evict): median %.2f ms -> %.0f TFLOP/s = %.0f%% of ceiling\n",
                cm, flops / (cm * 1e-3) / 1e12, 100.0 * flops / (cm * 1e-3) / 1e12 / ceiling);
    if (device.is_cuda()) {
        std::printf("peak GPU memory while timing: %.2f GB (KV cache %.2f GB)\n",
                    mem.peak_allocated_bytes / 1e9, cache.memory_bytes() / 1e9);
    }
    // Median wall time (until the device finished) and host time (until the call returned) of
    // `pass` over `iters` timed runs after two warm-up runs, each on a fresh random block.
    struct Timing {
        double wall_ms, host_ms;
    };
    auto time_pass_runs = [&](const std::function<void(const torch::Tensor&)>& pass) {
        std::vector<double> wall, host;
        for (int i = 0; i < iters + 2; ++i) {
            auto x = block();
            synchronize(device);
            Timer t;
            pass(x);
            const double enqueued = t.elapsed_ms();
            const double done = t.elapsed_ms(device);
            if (i >= 2) {
                host.push_back(enqueued);
                wall.push_back(done);
            }
        }
        return Timing{median(wall), median(host)};
    };
    // The same denoising pass replayed as a CUDA graph (the editor's default on CUDA).
    GraphCache graphs;
    const bool graphed = graphs.active(device);
    accel::ReferenceKv no_reference(config.num_layers);
    if (graphed) {
        auto plan = accel::PrunePlan::dense(fpb, lh / 2, lw / 2, frame, config.head_dim(), device);
        const double gm = time_pass_runs([&](const torch::Tensor& x) {
                              accel::pruned_causal_forward(*dit, x, tn, cross, cache, no_reference, plan,
                                                           accel::PruneMode::Off,
                                                           model::CacheWrite::Transient, &graphs);
                          }).wall_ms;
        std::printf("denoising pass as a CUDA graph: median %.2f ms -> %.0f TFLOP/s = %.0f%% of ceiling (%s)\n",
                    gm, flops / (gm * 1e-3) / 1e12, 100.0 * flops / (gm * 1e-3) / 1e12 / ceiling,
                    graph_stats_line(graphs.stats(), true).c_str());
    }
    if (device.is_cuda() && model::fused_kernels_available()) {
        // The same eager pass with the custom kernels switched off (LibTorch's own ops), for the
        // kernels' share of the pass.
        model::set_fused_kernels(false);
        const double lm = time_pass_runs([&](const torch::Tensor& x) {
                              model::causal_forward(*dit, x, tn, cross, cache, frame,
                                                    model::CacheWrite::Transient);
                          }).wall_ms;
        model::set_fused_kernels(true);
        std::printf("denoising pass without the custom CUDA kernels (LibTorch ops): median %.2f ms (%.2fx of the pass with them)\n",
                    lm, lm / dm);
    }
    if (dtype == torch::kBFloat16) {
        // Self-Forcing's bf16 numerics: the residual stream in bfloat16 (WanDitImpl::set_bf16_residual).
        auto x = block();
        auto f32_flow = model::causal_forward(*dit, x, tn, cross, cache, frame, model::CacheWrite::Transient);
        dit->set_bf16_residual(true);
        auto bf16_flow = model::causal_forward(*dit, x, tn, cross, cache, frame, model::CacheWrite::Transient);
        const double bm = time_pass_runs([&](const torch::Tensor& xi) {
                              model::causal_forward(*dit, xi, tn, cross, cache, frame,
                                                    model::CacheWrite::Transient);
                          }).wall_ms;
        dit->set_bf16_residual(false);
        std::printf("denoising pass with a bf16 residual stream: median %.2f ms -> %.0f TFLOP/s = %.0f%% of ceiling; "
                    "flow relative difference to the float32 stream %.2e\n",
                    bm, flops / (bm * 1e-3) / 1e12, 100.0 * flops / (bm * 1e-3) / 1e12 / ceiling,
                    relative_error(bf16_flow, f32_flow));
    }
    if (kept_list.empty()) return 0;

    // Pruned passes: a LIPAR commit pass with every token kept fills the clean reference, then
    // each fraction's plan keeps a seeded random subset, rounded up to the shape bucket.
    const auto dev_bucket = accel::default_kept_bucket(device);
    accel::ReferenceKv reference(config.num_layers);
    {
        auto plan = accel::PrunePlan::dense(fpb, lh / 2, lw / 2, frame, config.head_dim(), device);
        accel::pruned_causal_forward(*dit, block(), t0, cross, cache, reference, plan,
                                     accel::PruneMode::Lipar, model::CacheWrite::Commit);
        frame += fpb;
    }
    auto time_pass = [&](const accel::PrunePlan& plan, accel::PruneMode mode,
                         GraphCache* with_graphs = nullptr) {
        return time_pass_runs([&](const torch::Tensor& x) {
            accel::pruned_causal_forward(*dit, x, tn, cross, cache, reference, plan, mode,
                                         model::CacheWrite::Transient, with_graphs);
        });
    };
    std::printf("\npruned denoising passes (shape bucket %lld; host = until the call returned):\n",
                static_cast<long long>(dev_bucket));
    std::printf("%6s %7s %10s %10s %10s %10s %8s %8s", "kept", "tokens", "lipar ms", "host ms",
                "naive ms", "host ms", "lipar x", "ideal x");
    if (graphed) std::printf(" %11s %11s %8s", "lipar graph", "naive graph", "graph x");
    std::printf("\n");
    auto gen = at::detail::createCPUGenerator(7);
    const auto order = torch::randperm(static_cast<int64_t>(n), gen);
    for (double kept : kept_list) {
        const int64_t want = std::max<int64_t>(1, static_cast<int64_t>(std::llround(kept * n)));
        const int64_t count = accel::bucketed_count(want, static_cast<int64_t>(n), dev_bucket);
        auto keep = torch::zeros({static_cast<int64_t>(n)}, torch::kBool);
        keep.index_fill_(0, order.narrow(0, 0, count), true);
        auto plan = accel::PrunePlan::build(keep.view({fpb, lh / 2, lw / 2}), frame,
                                            config.head_dim(), device);
        const auto lipar = time_pass(plan, accel::PruneMode::Lipar);
        const auto naive = time_pass(plan, accel::PruneMode::Naive);
        std::printf("%5.0f%% %7lld %10.2f %10.2f %10.2f %10.2f %7.2fx %7.2fx", 100.0 * kept,
                    static_cast<long long>(count), lipar.wall_ms, lipar.host_ms, naive.wall_ms,
                    naive.host_ms, dm / lipar.wall_ms, n / static_cast<double>(count));
        if (graphed) {
            const double lipar_g = time_pass(plan, accel::PruneMode::Lipar, &graphs).wall_ms;
            const double naive_g = time_pass(plan, accel::PruneMode::Naive, &graphs).wall_ms;
            std::printf(" %9.2fms %9.2fms %7.2fx", lipar_g, naive_g, dm / lipar_g);
        }
        std::printf("\n");
    }
    if (graphed) std::printf("(graph x: the dense eager pass over lipar's graphed pass; %s)\n",
                             graph_stats_line(graphs.stats(), true).c_str());
    return 0;
}

}  // namespace lipar::cli
