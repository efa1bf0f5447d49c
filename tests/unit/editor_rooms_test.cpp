// The editor's rooms on their own: output assembly, noise, block planning.
#include <gtest/gtest.h>

#include "core/error.h"
#include "pipeline/block_planner.h"
#include "pipeline/noise_source.h"
#include "pipeline/output_assembler.h"

namespace lipar::pipeline {
namespace {

Frame grey(uint8_t value) {
    Frame f;
    f.resize(4, 2);
    std::fill(f.rgb.begin(), f.rgb.end(), value);
    return f;
}

// [n, 3, 2, 4] decoded frames whose frame k has grey level (first + k) / 255.
torch::Tensor decoded(int64_t n, int first) {
    auto levels = (torch::arange(n, torch::kFloat32) + first) / 255.0;
    return levels.view({n, 1, 1, 1}).expand({n, 3, 2, 4}).contiguous();
}

}  // namespace

TEST(OutputAssembler, pairs_each_decoded_frame_with_its_source_mask_and_baseline) {
    // TAEHV-like: the decoder withholds 3 frames, 4 source frames per latent frame; 10 inputs, a
    // block of 3 latent frames (12 decoded frames, the last ones padding).
    OutputAssembler out;
    for (int i = 0; i < 10; ++i) EXPECT_EQ(out.add_input(grey(static_cast<uint8_t>(100 + i))), i);
    auto keep = torch::zeros({3, 1, 2}, torch::kBool);
    keep[1][0][1] = true;  // latent frame 1 recomputes its second token
    out.add_masks(accel::PrunePlan::build(keep, 0, 12, torch::kCPU));
    out.start_baseline(0);
    auto frames = out.assemble(decoded(12, 0), decoded(12, 50), 3, 4, EditMode::Compare, true, true);
    ASSERT_EQ(frames.size(), 7u);  // sources 3..9; decoded frames past the last input dropped
    for (size_t k = 0; k < frames.size(); ++k) {
        const auto& e = frames[k];
        EXPECT_EQ(e.index, static_cast<int64_t>(k) + 3);
        EXPECT_EQ(e.input.pixel(0, 0)[0], 100 + e.index) << "its own source frame";
        EXPECT_EQ(e.output.pixel(0, 0)[0], static_cast<int>(k));      // decoded frame k
        EXPECT_EQ(e.baseline.pixel(0, 0)[0], 50 + static_cast<int>(k));  // the baseline's frame k
        ASSERT_EQ(e.keep_mask.size(), 2u);
        const bool latent1 = e.index / 4 == 1;
        EXPECT_EQ(e.keep_mask[1], latent1 ? 1 : 0) << "source " << e.index;
        EXPECT_EQ(e.mode, EditMode::Compare);
    }
}

TEST(OutputAssembler, local_motion_travels_with_the_mask_of_its_latent_frame) {
    OutputAssembler out;
    for (int i = 0; i < 8; ++i) out.add_input(grey(static_cast<uint8_t>(i)));
    // 2 latent frames on a 1x3 grid; in frame 1 token 2's content came from token 1 (one token
    // right), token 0 did not move and token 1 was exposed.
    accel::BlockMotion motion;
    motion.step.assign(2, accel::Motion{});
    motion.whole_step.assign(2, accel::Shift{});
    motion.token_shift.assign(2, accel::Shift{});
    motion.source = {accel::identity_map(1, 3), accel::SourceMap{0, -1, 1}};
    out.add_masks(accel::PrunePlan::build(torch::ones({2, 1, 3}, torch::kBool), 0, 12, torch::kCPU, &motion));
    auto frames = out.assemble(decoded(8, 0), torch::Tensor(), 0, 4, EditMode::Lipar, true, true);
    ASSERT_EQ(frames.size(), 8u);
    for (const auto& e : frames) {
        if (e.index / 4 == 0) {
            EXPECT_TRUE(e.motion_field.empty()) << "nothing moved in latent frame 0";
        } else {
            EXPECT_EQ(e.motion_field, (std::vector<int8_t>{0, 0, 0, 0, 1, 0})) << "source " << e.index;
        }
    }
}

TEST(OutputAssembler, a_baseline_started_mid_stream_is_paired_by_source_frame) {
    // No trim, 1 source frame per latent frame; compare starts with the second block (latent 3).
    OutputAssembler out;
    for (int i = 0; i < 6; ++i) out.add_input(grey(static_cast<uint8_t>(i)));
    const auto mask = accel::PrunePlan::build(torch::ones({3, 1, 2}, torch::kBool), 0, 12, torch::kCPU);
    out.add_masks(mask);
    auto first = out.assemble(decoded(3, 0), torch::Tensor(), 0, 1, EditMode::Lipar, true, false);
    ASSERT_EQ(first.size(), 3u);
    EXPECT_TRUE(first[0].baseline.empty());
    out.start_baseline(3);
    out.add_masks(mask);
    auto second = out.assemble(decoded(3, 3), decoded(3, 80), 0, 1, EditMode::Compare, false, true);
    ASSERT_EQ(second.size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(second[k].index, 3 + static_cast<int64_t>(k));
        EXPECT_EQ(second[k].baseline.pixel(0, 0)[0], 80 + static_cast<int>(k));
        EXPECT_TRUE(second[k].keep_mask.empty()) << "no masks asked for";
    }
    out.reset();
    EXPECT_EQ(out.inputs(), 0);
}

TEST(NoiseSource, the_same_block_and_step_give_the_same_noise_and_given_noise_wins) {
    NoiseSource seeded;
    auto like = torch::zeros({1, 4, 3, 2, 2});
    auto a = seeded.draw(7, 2, 1, like);
    EXPECT_EQ(a.sizes(), like.sizes());
    EXPECT_EQ(a.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(a, seeded.draw(7, 2, 1, like)));
    EXPECT_FALSE(torch::equal(a, seeded.draw(7, 2, 2, like)));  // another step
    EXPECT_FALSE(torch::equal(a, seeded.draw(7, 3, 1, like)));  // another block
    EXPECT_FALSE(torch::equal(a, seeded.draw(8, 2, 1, like)));  // another seed
    NoiseSource given([](int64_t block, int64_t step, c10::IntArrayRef sizes) {
        return torch::full(sizes, double(block * 10 + step), torch::kFloat64);
    });
    EXPECT_TRUE(torch::equal(given.draw(7, 2, 1, like), torch::full(like.sizes(), 21.0)));
}

TEST(BlockPlanner, off_keeps_everything_a_given_mask_is_used_as_is_and_detection_rounds_to_the_bucket) {
    BlockPlanner planner(12, torch::kCPU, 4);
    auto z = torch::randn({16, 3, 4, 6}, at::detail::createCPUGenerator(1));
    auto off = planner.plan(z, accel::PruneMode::Off, 0, 2, 3);
    EXPECT_TRUE(off.all_kept());
    EXPECT_EQ(off.total(), 18);
    auto given = torch::zeros({3, 2, 3}, torch::kBool);
    given[0][1][2] = true;
    auto plan = planner.plan(z, accel::PruneMode::Lipar, 0, 2, 3, given);
    EXPECT_EQ(plan.kept(), 1) << "a parity run's mask is never rounded";
    // A given mask ran no detection: committing it is a no-op, not an error (it was one until
    // the naive/lipar parity runs, which give every block's mask, met it), and a later given
    // block plans and commits alike.
    EXPECT_NO_THROW(planner.commit(plan));
    auto next = planner.plan(z, accel::PruneMode::Naive, 3, 2, 3, given);
    EXPECT_NO_THROW(planner.commit(next));
    // A still scene: the first block keeps what its first frame needs; in the next block one
    // token changes in its second frame (and back in its third): 2 tokens to recompute, rounded
    // up to the bucket of 4.
    accel::DetectorConfig raw;  // no smoothing or clean-up: they would erase a lone token
    raw.smooth = false;
    raw.cleanup = false;
    planner.set_config(raw);
    auto still = z.narrow(1, 0, 1).expand({16, 3, 4, 6}).contiguous();
    auto first = planner.plan(still, accel::PruneMode::Lipar, 0, 2, 3);
    planner.commit(first);
    auto moved = still.clone();
    moved.select(1, 1).narrow(1, 0, 2).narrow(2, 0, 2).add_(5.0);
    auto second = planner.plan(moved, accel::PruneMode::Lipar, 3, 2, 3);
    EXPECT_EQ(second.kept(), 4);
}

}  // namespace lipar::pipeline
