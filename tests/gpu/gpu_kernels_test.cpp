// Custom CUDA kernels (engine/kernels) against the LibTorch paths they replace.
#include <gtest/gtest.h>

#include "core/device.h"
#include "model/common/fused_ops.h"
#include "model/common/rope.h"
#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"

namespace lipar::model {

TEST(GpuKernels, fused_rope_equals_the_libtorch_path_in_every_dtype_and_layout) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
#ifndef LIPAR_HAVE_CUDA_KERNELS
    GTEST_SKIP() << "built without a CUDA compiler: no custom kernels";
#endif
    ASSERT_TRUE(fused_kernels_available());
    const int64_t b = 2, n = 37, h = 3, d = 128;
    auto pos = grid_positions(1, 37, 1, 5, torch::kCUDA);  // 37 tokens, distinct positions
    auto table = make_rope_table(pos, d);
    for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kHalf}) {
        auto o = torch::TensorOptions().device(torch::kCUDA).dtype(dtype);
        // contiguous, and a view into a longer buffer (the KV cache's layout)
        auto full = torch::randn({b, n + 9, h, d}, o);
        for (const auto& x : {torch::randn({b, n, h, d}, o), full.narrow(1, 4, n)}) {
            set_fused_kernels(false);
            auto ref = apply_rope(x, table);
            set_fused_kernels(true);
            auto got = apply_rope(x, table);
            ASSERT_EQ(got.scalar_type(), dtype);
            ASSERT_EQ(got.sizes(), x.sizes());
            const double rel = relative_error(got.cpu().to(torch::kFloat64), ref.cpu().to(torch::kFloat64));
            const double differ = got.ne(ref).to(torch::kFloat64).mean().item<double>();
            std::cout << "[ info ] fused rope " << dtype_name(dtype) << (x.is_contiguous() ? " contiguous" : " strided")
                      << ": relative difference " << rel << ", " << 100.0 * differ
                      << "% of elements not bit-equal\n";
            // The same float32 arithmetic: at most a last-bit difference where the library
            // contracts a product into a fused multiply-add.
            EXPECT_LT(rel, dtype == torch::kFloat32 ? 1e-6 : 4e-3);
            EXPECT_LT(differ, dtype == torch::kFloat32 ? 0.5 : 0.02);
        }
    }
    set_fused_kernels(true);
}

namespace {
double rel64(const torch::Tensor& a, const torch::Tensor& b) {
    return relative_error(a.cpu().to(torch::kFloat64), b.cpu().to(torch::kFloat64));
}
}  // namespace

TEST(GpuKernels, fused_modulated_norm_and_gated_residual_equal_the_libtorch_ops) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
#ifndef LIPAR_HAVE_CUDA_KERNELS
    GTEST_SKIP() << "built without a CUDA compiler: no custom kernels";
#endif
    ASSERT_TRUE(fused_kernels_available());
    const auto cuda = torch::TensorOptions().device(torch::kCUDA);
    const int64_t b = 2, n = 45, frames = 3, dim = 1536;
    // Each token's frame, not in order (a pruned pass's kept tokens), and a table of six
    // per-frame rows like the DiT layer's [B, F, 6, dim].
    auto fot = torch::randint(0, frames, {n}, cuda.dtype(torch::kInt64));
    auto table = torch::randn({b, frames, 6, dim}, cuda);
    for (auto in_t : {torch::kFloat32, torch::kBFloat16}) {
        for (auto out_t : {torch::kBFloat16, torch::kFloat32, torch::kHalf}) {
            auto x = (torch::randn({b, n, dim}, cuda) * 3 + 0.5).to(in_t);
            const FrameRows scale{table.select(2, 1), fot}, shift{table.select(2, 0), fot};
            auto got = fused_layer_norm_modulate(x, 1e-6, {}, {}, &scale, &shift, out_t);
            ASSERT_TRUE(got.defined());
            ASSERT_EQ(got.scalar_type(), out_t);
            // LibTorch in float64: the exact value the kernel's one rounding aims at
            auto x64 = x.to(torch::kFloat64);
            auto ref = at::layer_norm(x64, {dim}, {}, {}, 1e-6) *
                           table.select(2, 1).index_select(1, fot).to(torch::kFloat64) +
                       table.select(2, 0).index_select(1, fot).to(torch::kFloat64);
            const double rel = rel64(got, ref);
            std::cout << "[ info ] modulated norm " << dtype_name(in_t) << " -> " << dtype_name(out_t)
                      << ": relative error " << rel << "\n";
            EXPECT_LT(rel, out_t == torch::kFloat32 ? 1e-6 : 4e-3);
            // a single row (F == 1), broadcast over the batch
            auto one = torch::randn({1, 1, 2, dim}, cuda);
            const FrameRows s1{one.select(2, 1), {}}, h1{one.select(2, 0), {}};
            auto got1 = fused_layer_norm_modulate(x, 1e-6, {}, {}, &s1, &h1, out_t);
            auto ref1 = at::layer_norm(x64, {dim}, {}, {}, 1e-6) * one.select(2, 1).to(torch::kFloat64) +
                        one.select(2, 0).to(torch::kFloat64);
            EXPECT_LT(rel64(got1, ref1), out_t == torch::kFloat32 ? 1e-6 : 4e-3);
            // the affine norm (norm3) without modulation
            auto w = torch::randn({dim}, cuda), bias = torch::randn({dim}, cuda);
            auto got2 = fused_layer_norm_modulate(x, 1e-6, w, bias, nullptr, nullptr, out_t);
            auto ref2 = at::layer_norm(x64, {dim}, w.to(torch::kFloat64), bias.to(torch::kFloat64), 1e-6);
            EXPECT_LT(rel64(got2, ref2), out_t == torch::kFloat32 ? 1e-6 : 4e-3);

            // gated residual: x (the stream) + y (a branch's output) * gate
            auto y = torch::randn({b, n, dim}, cuda).to(out_t);
            auto gate = table.select(2, 2);
            auto res = fused_gated_residual(x, y, FrameRows{gate, fot});
            ASSERT_TRUE(res.defined());
            ASSERT_EQ(res.scalar_type(), in_t);
            auto ref3 = x64 + y.to(torch::kFloat64) * gate.index_select(1, fot).to(torch::kFloat64);
            const double rel3 = rel64(res, ref3);
            EXPECT_LT(rel3, in_t == torch::kFloat32 ? 1e-6 : 4e-3);
            // and against the op it replaces, in its own dtype
            if (in_t == torch::kFloat32)
                EXPECT_LT(rel64(res, torch::addcmul(x, y, gate.index_select(1, fot))), 1e-6);
        }
    }
    // Layouts the kernels do not take come back undefined (the caller's LibTorch path runs).
    auto x = torch::randn({b, n, dim}, cuda);
    const FrameRows bad{table.select(2, 1), {}};  // several frames but no frame_of_token
    EXPECT_FALSE(fused_layer_norm_modulate(x, 1e-6, {}, {}, &bad, &bad, torch::kBFloat16).defined());
    EXPECT_FALSE(fused_gated_residual(x.transpose(0, 1), x.transpose(0, 1), FrameRows{table.select(2, 2), fot}).defined());
    EXPECT_FALSE(fused_gated_residual(x.cpu(), x.cpu(), FrameRows{table.select(2, 2).cpu(), fot.cpu()}).defined());
}

TEST(GpuKernels, fused_qk_norm_rope_equals_rms_norm_then_rope_and_writes_into_cache_slots) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
#ifndef LIPAR_HAVE_CUDA_KERNELS
    GTEST_SKIP() << "built without a CUDA compiler: no custom kernels";
#endif
    ASSERT_TRUE(fused_kernels_available());
    const int64_t b = 2, n = 29, heads = 12, d = 128, dim = heads * d;
    auto table = make_rope_table(grid_positions(1, n, 1, 3, torch::kCUDA), d);
    for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kHalf}) {
        auto o = torch::TensorOptions().device(torch::kCUDA).dtype(dtype);
        auto qkv = torch::randn({b * n, 3 * dim}, o) * 3;
        auto wq = torch::rand({dim}, o) + 0.5, wk = torch::rand({dim}, o) + 0.5;
        RmsNorm norm_q(dim, 1e-6, o), norm_k(dim, 1e-6, o);
        norm_q->weight.detach().copy_(wq);
        norm_k->weight.detach().copy_(wk);
        // the LibTorch path: RMSNorm of each part, then RoPE
        set_fused_kernels(false);
        auto parts = qkv.view({b, n, 3, dim});
        auto ref_k_pre = norm_k(parts.select(2, 1)).view({b, n, heads, d});
        auto ref_q = apply_rope(norm_q(parts.select(2, 0)).view({b, n, heads, d}), table);
        auto ref_k = apply_rope(ref_k_pre, table);
        auto ref_v = parts.select(2, 2).reshape({b, n, heads, d});
        set_fused_kernels(true);
        // k and v straight into the staging rows of a longer cache buffer
        auto cache_k = torch::zeros({b, n + 7, heads, d}, o), cache_v = torch::zeros_like(cache_k);
        auto got = fused_qk_norm_rope(qkv, b, heads, wq, wk, 1e-6, table, cache_k.narrow(1, 4, n),
                                      cache_v.narrow(1, 4, n));
        ASSERT_TRUE(got.q.defined());
        EXPECT_EQ(got.k.data_ptr(), cache_k.narrow(1, 4, n).data_ptr());
        EXPECT_EQ(got.v.data_ptr(), cache_v.narrow(1, 4, n).data_ptr());
        const double tol = dtype == torch::kFloat32 ? 1e-6 : 1e-2;
        const double eq = rel64(got.q, ref_q), ekp = rel64(got.k_pre, ref_k_pre), ek = rel64(got.k, ref_k);
        std::cout << "[ info ] fused qk norm + rope " << dtype_name(dtype) << ": q " << eq << ", k before RoPE "
                  << ekp << ", k " << ek << "\n";
        EXPECT_LT(eq, tol);
        EXPECT_LT(ekp, tol);
        EXPECT_LT(ek, tol);
        EXPECT_TRUE(torch::equal(got.v, ref_v)) << "v is a copy";
        // the rows around the slot are untouched
        EXPECT_EQ(cache_k.narrow(1, 0, 4).abs().sum().item<double>(), 0.0);
        EXPECT_EQ(cache_v.narrow(1, n + 4, 3).abs().sum().item<double>(), 0.0);
        // without destinations: new tensors with the same values
        auto fresh = fused_qk_norm_rope(qkv, b, heads, wq, wk, 1e-6, table, {}, {});
        EXPECT_TRUE(torch::equal(fresh.k, got.k));
        EXPECT_TRUE(torch::equal(fresh.q, got.q));
        // refusals: a table of another length, a weight of another dtype, a CPU tensor
        auto short_table = make_rope_table(grid_positions(1, n - 1, 1, 3, torch::kCUDA), d);
        EXPECT_FALSE(fused_qk_norm_rope(qkv, b, heads, wq, wk, 1e-6, short_table, {}, {}).q.defined());
        EXPECT_FALSE(fused_qk_norm_rope(qkv, b, heads, wq.to(torch::kFloat64), wk, 1e-6, table, {}, {}).q.defined());
        EXPECT_FALSE(fused_qk_norm_rope(qkv.cpu(), b, heads, wq, wk, 1e-6, table, {}, {}).q.defined());
    }
}

TEST(GpuKernels, the_self_attention_projections_share_one_weight_tensor_after_loading) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16);
    WanDit dit(DitConfig::tiny(), opts);
    init_random_weights(*dit, 3);
    auto* block = dit->blocks->ptr(0)->as<WanBlockImpl>();
    ASSERT_NE(block, nullptr);
    const auto& a = *block->self_attn;
    auto w = a.qkv_weight();
    ASSERT_TRUE(w.defined());
    EXPECT_TRUE(torch::equal(w, torch::cat({a.q->weight, a.k->weight, a.v->weight})));
    EXPECT_TRUE(torch::equal(a.qkv_bias(), torch::cat({a.q->bias, a.k->bias, a.v->bias})));
    EXPECT_FALSE(block->cross_attn->qkv_weight().defined()) << "cross-attention's k, v read the prompt";
}

TEST(GpuKernels, dit_passes_with_the_fused_kernels_track_the_libtorch_path) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
#ifndef LIPAR_HAVE_CUDA_KERNELS
    GTEST_SKIP() << "built without a CUDA compiler: no custom kernels";
#endif
    // Streaming passes with a per-frame timestep (frame_of_token rows) and the KV cache: a float32
    // DiT (the kernels' float32 arithmetic against LibTorch's, only summation order differs), and
    // a bf16 DiT with the float32 and the bf16 residual stream. In the tiny bf16 DiT with the
    // float32 stream every bf16 rounding may agree, so only the other two must differ at all.
    struct Case {
        torch::Dtype dtype;
        bool bf16_residual;
        double tol;
        bool must_differ;
    };
    for (const auto& c : {Case{torch::kFloat32, false, 1e-5, true}, Case{torch::kBFloat16, false, 1e-2, false},
                          Case{torch::kBFloat16, true, 3e-2, true}}) {
        auto opts = torch::TensorOptions().device(torch::kCUDA).dtype(c.dtype);
        WanDit dit(DitConfig::tiny(), opts);
        init_random_weights(*dit, 7);
        dit->set_bf16_residual(c.bf16_residual);
        const int64_t fpb = 3;
        auto ctx = torch::randn({1, 8, 64}, opts);
        auto cross = dit->encode_context(ctx);
        std::vector<torch::Tensor> flows[2];
        for (int fused = 0; fused < 2; ++fused) {
            set_fused_kernels(fused == 1);
            torch::manual_seed(11);
            KvCache cache(2, 2, 128, KvWindow{1, 3}, opts);
            for (int64_t blk = 0; blk < 3; ++blk) {
                auto x = torch::randn({1, 16, fpb, 4, 6}, opts);
                auto t = torch::rand({1, fpb}, opts.dtype(torch::kFloat32)) * 1000;
                flows[fused].push_back(causal_forward(*dit, x, t, cross, cache, blk * fpb, CacheWrite::Transient));
                causal_forward(*dit, x, torch::zeros({1, fpb}, t.options()), cross, cache, blk * fpb,
                               CacheWrite::Commit);
            }
        }
        set_fused_kernels(true);
        for (size_t i = 0; i < flows[0].size(); ++i) {
            const double rel = rel64(flows[1][i], flows[0][i]);
            std::cout << "[ info ] fused vs LibTorch DiT pass, " << dtype_name(c.dtype) << " DiT, "
                      << (c.bf16_residual ? "bf16" : "f32") << " stream, block " << i << ": " << rel << "\n";
            EXPECT_LT(rel, c.tol);
            if (c.must_differ) EXPECT_GT(rel, 0.0) << "the fused kernels did not run";
        }
    }
}

}  // namespace lipar::model
