// LIPAR detection on CUDA: same masks as on the CPU, and no host synchronisation besides the one
// copy of the kept ratios. Skipped without CUDA.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <iostream>
#include <string>
#include <vector>

#include "lipar/detector.h"
#include "lipar/filters.h"
#include "unit/lipar_detection_helpers.h"

#if defined(LIPAR_TESTS_LINK_CUDA) && TORCH_VERSION_MAJOR >= 2
#include <c10/cuda/CUDAFunctions.h>
#include <c10/util/Exception.h>
#define LIPAR_CAN_COUNT_SYNCS 1
#endif

namespace lipar::accel {
namespace {

struct Streamed {
    torch::Tensor keep, distance, distance_long;
    double detect_ms = 0;
};

Streamed stream(const torch::Tensor& z, const DetectorConfig& config, int64_t per_block) {
    DuplicateDetector detector(config);
    std::vector<torch::Tensor> keep, distance, distance_long;
    Streamed out;
    for (int64_t s = 0; s < z.size(1); s += per_block) {
        const DetectionResult r =
            detector.detect(z.narrow(1, s, std::min(per_block, z.size(1) - s)));
        detector.commit_block(r.keep);
        keep.push_back(r.keep.cpu());
        distance.push_back(r.distance.cpu());
        distance_long.push_back(r.distance_long.cpu());
        if (s > 0) {
            out.detect_ms += r.detect_ms;
        }
    }
    out.keep = torch::cat(keep);
    out.distance = torch::cat(distance);
    out.distance_long = torch::cat(distance_long);
    return out;
}

std::vector<std::pair<std::string, DetectorConfig>> configs() {
    std::vector<std::pair<std::string, DetectorConfig>> out;
    out.emplace_back("defaults", DetectorConfig{});
    DetectorConfig c;
    c.min_keep_ratio = 0.35;
    c.tau1 = 0.12;
    out.emplace_back("min keep ratio", c);
    c = DetectorConfig{};
    c.reference_refresh = ReferenceRefresh::ThresholdMask;
    c.tau2 = 0.2;
    out.emplace_back("threshold-mask refresh", c);
    return out;
}

TEST(LiparDetectorGpu, cuda_and_cpu_give_the_same_masks_and_distances) {
    if (!torch::cuda::is_available()) {
        GTEST_SKIP() << "CUDA is not available";
    }
    // The paper's latent size: 60 x 104 -> 30 x 52 tokens.
    const torch::Tensor z = testing::structured_latents(16, 12, 60, 104, 2024);
    const torch::Tensor z_cuda = z.to(torch::kCUDA);
    for (const auto& [name, config] : configs()) {
        const Streamed cpu = stream(z, config, 3);
        const Streamed cuda = stream(z_cuda, config, 3);
        EXPECT_TRUE(torch::equal(cpu.keep, cuda.keep))
            << name << ": " << (cpu.keep != cuda.keep).sum().item<int64_t>() << " tokens differ";
        const double distance_diff = (cpu.distance - cuda.distance).abs().max().item<double>();
        const double long_diff =
            (cpu.distance_long - cuda.distance_long).abs().max().item<double>();
        EXPECT_LE(distance_diff, 1e-6) << name;
        EXPECT_LE(long_diff, 1e-6) << name;
        std::cout << "[" << name << "] kept " << cpu.keep.to(torch::kFloat).mean().item<double>()
                  << ", distances bit-identical: "
                  << (torch::equal(cpu.distance, cuda.distance) ? "yes" : "no") << ", CUDA detect "
                  << cuda.detect_ms / 3.0 << " ms per 3-frame block, CPU " << cpu.detect_ms / 3.0
                  << " ms\n";
        const DetectionResult whole = detect_sequence(z_cuda, config, 3);
        EXPECT_TRUE(torch::equal(whole.keep.cpu(), cuda.keep)) << name;
        EXPECT_TRUE(whole.keep.is_cuda());
    }
}

TEST(LiparDetectorGpu, half_precision_latents_on_cuda_match_the_cpu) {
    if (!torch::cuda::is_available()) {
        GTEST_SKIP() << "CUDA is not available";
    }
    const torch::Tensor z = testing::structured_latents(16, 6, 60, 104, 7).to(torch::kBFloat16);
    const Streamed cpu = stream(z, DetectorConfig{}, 3);
    const Streamed cuda = stream(z.to(torch::kCUDA), DetectorConfig{}, 3);
    EXPECT_TRUE(torch::equal(cpu.keep, cuda.keep));
}

TEST(LiparDetectorGpu, filters_agree_with_the_cpu_on_random_grids) {
    if (!torch::cuda::is_available()) {
        GTEST_SKIP() << "CUDA is not available";
    }
    torch::manual_seed(3);
    const torch::Tensor x = torch::rand({5, 30, 52});
    const torch::Tensor history = torch::rand({2, 30, 52});
    const torch::Tensor xc = x.cuda(), hc = history.cuda();
    EXPECT_TRUE(torch::equal(causal_median3d(x, history), causal_median3d(xc, hc).cpu()));
    EXPECT_TRUE(
        torch::equal(causal_gaussian3d(x, history, 1.5), causal_gaussian3d(xc, hc, 1.5).cpu()));
    const torch::Tensor mask = x > 0.7;
    const torch::Tensor mask_history = history > 0.7;
    EXPECT_TRUE(torch::equal(median3d_mask(mask, mask_history),
                             median3d_mask(mask.cuda(), mask_history.cuda()).cpu()));
    EXPECT_TRUE(torch::equal(close2d(open2d(mask)), close2d(open2d(mask.cuda())).cpu()));
    EXPECT_TRUE(torch::equal(causal_dilate(mask, mask_history),
                             causal_dilate(mask.cuda(), mask_history.cuda()).cpu()));
    const torch::Tensor sparse = x > 0.995;
    EXPECT_TRUE(torch::equal(enforce_min_keep_ratio(sparse, 0.3),
                             enforce_min_keep_ratio(sparse.cuda(), 0.3).cpu()));
    const torch::Tensor a = torch::randn({3, 30, 52, 64}), b = torch::randn({3, 30, 52, 64});
    EXPECT_TRUE(torch::equal(trimmed_mean_abs_diff(a, b, 0.2, 0.8),
                             trimmed_mean_abs_diff(a.cuda(), b.cuda(), 0.2, 0.8).cpu()));
}

#ifdef LIPAR_CAN_COUNT_SYNCS
class SyncCounter : public c10::WarningHandler {
  public:
    void process(const c10::Warning& warning) override {
        if (warning.msg().find("synchroniz") != std::string::npos) {
            ++count;
        }
    }
    int count = 0;
};

TEST(LiparDetectorGpu, detect_synchronises_only_to_copy_the_kept_ratios) {
    if (!torch::cuda::is_available()) {
        GTEST_SKIP() << "CUDA is not available";
    }
    const torch::Tensor z = testing::structured_latents(16, 6, 60, 104, 5).to(torch::kCUDA);
    DetectorConfig config;
    config.min_keep_ratio = 0.3;
    DuplicateDetector detector(config);
    detector.commit_block(detector.detect(z.narrow(1, 0, 3)).keep);  // caches the Gaussian kernel
    torch::cuda::synchronize();

    SyncCounter counter;
    c10::WarningUtils::WarningHandlerGuard guard(&counter);
    c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_WARN);
    const DetectionResult r = detector.detect(z.narrow(1, 3, 3));
    detector.commit_block(r.keep);
    const int detect_syncs = counter.count;
    counter.count = 0;
    const torch::Tensor ratios = r.keep.to(torch::kFloat).mean({1, 2}).to(torch::kDouble).cpu();
    const int ratio_syncs = counter.count;
    c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_DISABLED);
    EXPECT_GT(ratio_syncs, 0) << "sync debug mode reported nothing; the check is void";
    EXPECT_EQ(detect_syncs, ratio_syncs);
}
#endif

}  // namespace
}  // namespace lipar::accel
