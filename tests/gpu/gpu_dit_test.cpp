#include <gtest/gtest.h>

#include "core/device.h"
#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"

namespace lipar::model {

namespace {
bool have_cuda() { return torch::cuda::is_available(); }
}  // namespace

TEST(GpuDit, cuda_bf16_and_fp16_forward_track_cpu_fp32) {
    if (!have_cuda()) GTEST_SKIP() << "no CUDA device";
    WanDit cpu(DitConfig::tiny(), torch::TensorOptions());
    init_random_weights(*cpu, 3);
    auto x = torch::randn({1, 16, 3, 8, 12});
    auto t = torch::tensor({600.0});
    auto ctx = torch::randn({1, 16, 64});
    auto ref = cpu->forward(x, t, ctx);
    for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kFloat16}) {
        WanDit gpu(DitConfig::tiny(), torch::TensorOptions().device(torch::kCUDA).dtype(dtype));
        init_random_weights(*gpu, 3);
        auto out = gpu->forward(x.cuda(), t.cuda(), ctx.cuda()).cpu();
        const double rel = relative_error(out, ref);
        const double tol = dtype == torch::kFloat32 ? 1e-3 : 3e-2;
        EXPECT_LT(rel, tol) << dtype_name(dtype) << " relative error " << rel;
        std::cout << "[ info ] cuda " << dtype_name(dtype) << " vs cpu f32: " << rel << "\n";
    }
}

TEST(GpuDit, cuda_streaming_equals_masked_full_forward) {
    if (!have_cuda()) GTEST_SKIP() << "no CUDA device";
    auto opts = torch::TensorOptions().device(torch::kCUDA);
    WanDit dit(DitConfig::tiny(), opts);
    init_random_weights(*dit, 5);
    const int64_t fpb = 3, blocks = 3, frames = fpb * blocks, tpf = 6;
    auto x = torch::randn({1, 16, frames, 4, 6}, opts);
    auto xc = torch::randn({1, 16, frames, 4, 6}, opts);
    auto t = torch::rand({1, frames}, opts) * 1000;
    auto ctx = torch::randn({1, 8, 64}, opts);
    KvWindow w{1, 3};
    KvCache cache(2, 2, 128, w, opts);
    auto cross = dit->encode_context(ctx);
    std::vector<torch::Tensor> flows;
    for (int64_t b = 0; b < blocks; ++b) {
        flows.push_back(causal_forward(*dit, x.narrow(2, b * fpb, fpb), t.narrow(1, b * fpb, fpb),
                                       cross, cache, b * fpb, CacheWrite::Transient));
        causal_forward(*dit, xc.narrow(2, b * fpb, fpb), torch::zeros({1, fpb}, opts), cross, cache,
                       b * fpb, CacheWrite::Commit);
    }
    DenseOptions d;
    for (int p = 0; p < 2; ++p)
        for (int64_t f = 0; f < frames; ++f) d.frame_positions.push_back(f);
    d.mask = teacher_forcing_mask(frames, fpb, tpf, w);
    auto full = dit->forward(torch::cat({xc, x}, 2), torch::cat({torch::zeros_like(t), t}, 1), ctx, d);
    const double rel = relative_error(torch::cat(flows, 2), full.narrow(2, frames, frames));
    EXPECT_LT(rel, 1e-3) << rel;  // TF32 may be used by cuBLAS for fp32
}

}  // namespace lipar::model
