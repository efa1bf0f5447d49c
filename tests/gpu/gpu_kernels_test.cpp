// Custom CUDA kernels (engine/kernels) against the LibTorch paths they replace.
#include <gtest/gtest.h>

#include "core/device.h"
#include "model/common/rope.h"

namespace lipar::model {

TEST(GpuKernels, fused_rope_equals_the_libtorch_path_in_every_dtype_and_layout) {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
#ifndef LIPAR_HAVE_CUDA_KERNELS
    GTEST_SKIP() << "built without a CUDA compiler: no custom kernels";
#endif
    ASSERT_TRUE(fused_rope_available());
    const int64_t b = 2, n = 37, h = 3, d = 128;
    auto pos = grid_positions(1, 37, 1, 5, torch::kCUDA);  // 37 tokens, distinct positions
    auto table = make_rope_table(pos, d);
    for (auto dtype : {torch::kFloat32, torch::kBFloat16, torch::kHalf}) {
        auto o = torch::TensorOptions().device(torch::kCUDA).dtype(dtype);
        // contiguous, and a view into a longer buffer (the KV cache's layout)
        auto full = torch::randn({b, n + 9, h, d}, o);
        for (const auto& x : {torch::randn({b, n, h, d}, o), full.narrow(1, 4, n)}) {
            set_fused_rope(false);
            auto ref = apply_rope(x, table);
            set_fused_rope(true);
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
    set_fused_rope(true);
}

}  // namespace lipar::model
