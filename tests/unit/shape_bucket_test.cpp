// Shape buckets (engine/lipar/shape_bucket.h): the kept count of a block rounded up to a multiple
// of the bucket with the pruned tokens closest to their thresholds.
#include <gtest/gtest.h>

#include <limits>

#include "core/error.h"
#include "lipar/shape_bucket.h"

namespace lipar::accel {
namespace {

TEST(ShapeBucket, rounds_the_kept_count_up_with_the_highest_scoring_pruned_tokens) {
    // 2 frames of 2x3 tokens: 3 kept.
    auto keep = torch::tensor({1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1}, torch::kBool).view({2, 2, 3});
    auto score = torch::tensor({9.f, 0.1f, 0.7f, 0.2f, 9.f, 0.9f, 0.3f, 0.05f, 0.8f, 0.4f, 0.6f, 9.f})
                     .view({2, 2, 3});
    auto out = round_kept_to_bucket(keep, score, 4);
    EXPECT_EQ(out.sum().item<int64_t>(), 4);
    EXPECT_TRUE(out.view(-1)[5].item<bool>());  // 0.9: the highest pruned score
    EXPECT_TRUE((out.logical_and(keep)).equal(keep));  // nothing kept becomes pruned
    out = round_kept_to_bucket(keep, score, 8);
    EXPECT_EQ(out.sum().item<int64_t>(), 8);
    // The five pruned tokens added: 0.9, 0.8, 0.7, 0.6, 0.4; the lowest four stay pruned.
    for (int64_t i : {5, 8, 2, 10, 9}) EXPECT_TRUE(out.view(-1)[i].item<bool>()) << i;
    for (int64_t i : {1, 3, 6, 7}) EXPECT_FALSE(out.view(-1)[i].item<bool>()) << i;
    // A multiple already, or no bucket: unchanged; past the total: everything.
    EXPECT_TRUE(round_kept_to_bucket(keep, score, 3).equal(keep));
    EXPECT_TRUE(round_kept_to_bucket(keep, score, 0).equal(keep));
    EXPECT_TRUE(round_kept_to_bucket(keep, score, 1).equal(keep));
    EXPECT_EQ(round_kept_to_bucket(keep, score, 128).sum().item<int64_t>(), 12);
    EXPECT_THROW(round_kept_to_bucket(keep, score.view({2, 6}), 4), Error);
}

TEST(ShapeBucket, equal_scores_go_to_the_lower_index_and_the_score_combines_both_thresholds) {
    auto keep = torch::zeros({1, 2, 4}, torch::kBool);
    auto out = round_kept_to_bucket(keep.clone().index_put_({0, 0, 0}, true), torch::zeros({1, 2, 4}), 3);
    EXPECT_TRUE(out.view(-1).narrow(0, 0, 3).all().item<bool>());
    EXPECT_FALSE(out.view(-1).narrow(0, 3, 5).any().item<bool>());

    DetectionResult d;
    d.keep = keep;
    d.distance = torch::full({1, 2, 4}, 0.075f);      // half of tau1 0.15
    d.distance_long = torch::zeros({1, 2, 4});
    d.distance_long.view(-1)[6] = 0.27f;             // 0.9 of tau2 0.3
    const auto score = keep_score(d, 0.15, 0.3);
    EXPECT_NEAR(score.view(-1)[0].item<float>(), 0.5f, 1e-6);
    EXPECT_NEAR(score.view(-1)[6].item<float>(), 0.9f, 1e-6);
    EXPECT_TRUE(round_kept_to_bucket(keep, score, 1).equal(keep));
    EXPECT_TRUE(round_kept_to_bucket(keep.clone().index_put_({0, 0, 1}, true), score, 2)
                    .view(-1)[6].item<bool>());
    EXPECT_EQ(default_kept_bucket(torch::kCPU), 0);
}

}  // namespace
}  // namespace lipar::accel
