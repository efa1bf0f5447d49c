// Streaming detection equals whole-sequence detection, and both equal a naive loop-by-loop
// reference of the algorithm, on latents with moving, drifting, flickering and noisy content.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lipar/detector.h"
#include "unit/lipar_detection_helpers.h"

namespace lipar::accel {
namespace {

struct Streamed {
    torch::Tensor keep, distance, distance_long;
    std::vector<double> ratios;
};

Streamed stream(const torch::Tensor& z,
                const DetectorConfig& config,
                const std::vector<int64_t>& blocks) {
    DuplicateDetector detector(config);
    std::vector<torch::Tensor> keep, distance, distance_long;
    Streamed out;
    int64_t start = 0;
    for (int64_t b : blocks) {
        const DetectionResult r =
            detector.detect(z.narrow(1, start, std::min(b, z.size(1) - start)));
        detector.commit_block(r.keep);
        keep.push_back(r.keep);
        distance.push_back(r.distance);
        distance_long.push_back(r.distance_long);
        out.ratios.insert(out.ratios.end(), r.kept_ratio_per_frame.begin(),
                          r.kept_ratio_per_frame.end());
        start += b;
    }
    out.keep = torch::cat(keep);
    out.distance = torch::cat(distance);
    out.distance_long = torch::cat(distance_long);
    return out;
}

void expect_matches_naive(const Streamed& s,
                          const torch::Tensor& z,
                          const DetectorConfig& config,
                          const std::vector<int64_t>& blocks,
                          const std::string& label) {
    const testing::NaiveResult naive = testing::naive_detect(z, config, blocks);
    // Precondition of an exact mask comparison between float32 and double arithmetic.
    ASSERT_GT(naive.min_margin, 1e-5)
        << label << ": a distance lies on a threshold; change the seed";
    const torch::Tensor naive_keep = testing::naive_keep_tensor(naive);
    EXPECT_TRUE(torch::equal(s.keep, naive_keep))
        << label << ": " << (s.keep != naive_keep).sum().item<int64_t>() << " tokens differ";
    EXPECT_TRUE(torch::allclose(s.distance.to(torch::kDouble),
                                testing::naive_values_tensor(naive, naive.distance), 0.0, 1e-5))
        << label;
    EXPECT_TRUE(torch::allclose(s.distance_long.to(torch::kDouble),
                                testing::naive_values_tensor(naive, naive.distance_long), 0.0,
                                1e-5))
        << label;
}

std::vector<std::pair<std::string, DetectorConfig>> configs() {
    std::vector<std::pair<std::string, DetectorConfig>> out;
    out.emplace_back("defaults", DetectorConfig{});
    DetectorConfig c;
    c.smooth = false;
    out.emplace_back("no smoothing", c);
    c = DetectorConfig{};
    c.cleanup = false;
    out.emplace_back("no cleanup", c);
    c = DetectorConfig{};
    c.reference_refresh = ReferenceRefresh::ThresholdMask;
    c.tau2 = 0.2;
    out.emplace_back("threshold-mask refresh", c);
    c = DetectorConfig{};
    c.min_keep_ratio = 0.3;
    c.tau1 = 0.12;
    out.emplace_back("min keep ratio", c);
    return out;
}

TEST(LiparDetectorStream, blocks_of_1_and_3_match_detect_sequence_and_the_naive_reference) {
    const torch::Tensor z = testing::structured_latents(16, 10, 32, 40, 1234);
    for (const auto& [name, config] : configs()) {
        for (int64_t per_block : {int64_t(1), int64_t(3)}) {
            const std::string label = name + ", blocks of " + std::to_string(per_block);
            const std::vector<int64_t> blocks = testing::uniform_blocks(z.size(1), per_block);
            const Streamed s = stream(z, config, blocks);
            const DetectionResult whole = detect_sequence(z, config, per_block);
            EXPECT_TRUE(torch::equal(s.keep, whole.keep)) << label;
            EXPECT_TRUE(torch::equal(s.distance, whole.distance)) << label;
            EXPECT_TRUE(torch::equal(s.distance_long, whole.distance_long)) << label;
            EXPECT_EQ(s.ratios, whole.kept_ratio_per_frame) << label;
            expect_matches_naive(s, z, config, blocks, label);
            // The data must exercise both outcomes.
            const double kept =
                whole.keep.narrow(0, 1, z.size(1) - 1).to(torch::kFloat).mean().item<double>();
            EXPECT_GT(kept, 0.05) << label;
            EXPECT_LT(kept, 0.95) << label;
        }
    }
}

TEST(LiparDetectorStream, uneven_blocks_match_the_naive_reference) {
    const torch::Tensor z = testing::structured_latents(16, 11, 40, 32, 99);
    const std::vector<int64_t> blocks = {1, 3, 2, 4, 1};
    for (const auto& [name, config] : configs()) {
        expect_matches_naive(stream(z, config, blocks), z, config, blocks, name);
    }
}

TEST(LiparDetectorStream, the_short_term_path_does_not_depend_on_the_block_size) {
    // Without the long-term check nothing depends on when blocks are committed.
    const torch::Tensor z = testing::structured_latents(16, 9, 32, 32, 5);
    DetectorConfig config;
    config.long_term = false;
    const DetectionResult ones = detect_sequence(z, config, 1);
    const DetectionResult threes = detect_sequence(z, config, 3);
    const DetectionResult all = detect_sequence(z, config, 9);
    EXPECT_TRUE(torch::equal(ones.keep, threes.keep));
    EXPECT_TRUE(torch::equal(ones.keep, all.keep));
    EXPECT_TRUE(torch::equal(ones.distance, all.distance));
}

}  // namespace
}  // namespace lipar::accel
