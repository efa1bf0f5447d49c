// A DiT whose blocks sit on several devices (issue 16, WanDitImpl::place_blocks): each block's
// weights, prompt K/V, KV-cache layer, clean reference and prune-plan indices on its own device.
// On a machine without a GPU the second device is "cpu:0": LibTorch treats it as a device distinct
// from "cpu" (so every per-device path runs: the block inputs per device, the per-device plan
// indices, the per-row modulation, the cache layers' own options) while the arithmetic stays the
// CPU's, so the edit must come out exactly as with every block in one place.
// tests/gpu/gpu_placement_test.cpp runs the same across a CUDA/CPU boundary.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <unistd.h>

#include "common/editor_fixtures.h"
#include "core/device.h"
#include "core/error.h"
#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"
#include "parallel/stage_pipeline.h"
#include "pipeline/editor.h"
#include "pipeline/random_pack.h"

namespace lipar {
namespace {

const torch::Device kCpu(torch::kCPU);
const torch::Device kOther(torch::kCPU, 0);  // distinct from kCpu for LibTorch, same memory


TEST(DitPlacement, the_second_device_of_these_tests_is_distinct_for_libtorch) {
    EXPECT_NE(kCpu, kOther);
    EXPECT_TRUE(kOther.is_cpu());
}

TEST(DitPlacement, blocks_report_their_devices_and_the_cache_layers_follow_them) {
    torch::NoGradGuard no_grad;
    model::WanDit dit(model::DitConfig::tiny(), torch::TensorOptions().device(kCpu));
    model::init_random_weights(*dit, 3);
    ASSERT_EQ(dit->config().num_layers, 2);
    EXPECT_EQ(dit->block_devices(), (std::vector<torch::Device>{kCpu, kCpu}));
    dit->place_blocks({kOther, kCpu});
    EXPECT_EQ(dit->block_devices(), (std::vector<torch::Device>{kOther, kCpu}));
    EXPECT_EQ(dit->block_device(0), kOther);
    EXPECT_THROW(dit->place_blocks({kOther}), Error);  // one device per block
    const auto& c = dit->config();
    model::KvCache cache(c.num_layers, c.num_heads, c.head_dim(), model::KvWindow{1, 3},
                         torch::TensorOptions().device(kCpu));
    EXPECT_EQ(cache.layer_device(0), kCpu);
    cache.place_layers(dit->block_devices());
    EXPECT_EQ(cache.layer_device(0), kOther);
    EXPECT_EQ(cache.layer_device(1), kCpu);
    EXPECT_THROW(cache.place_layers({kCpu}), Error);  // one device per layer

    // A committing pass through both devices leaves its K/V in each layer; a cache holding K/V
    // cannot be moved any more.
    const auto cross = dit->encode_context(torch::randn({1, 8, c.text_dim}));
    ASSERT_EQ(cross.k.size(), 2u);
    auto x = torch::randn({1, c.in_channels, 3, 4, 6});
    model::KvCache single(c.num_layers, c.num_heads, c.head_dim(), model::KvWindow{1, 3},
                          torch::TensorOptions().device(kCpu));
    const auto placed = model::causal_forward(*dit, x, torch::full({1}, 500.0), cross, cache, 0,
                                              model::CacheWrite::Commit);
    EXPECT_EQ(cache.committed_tokens(0), 3 * 2 * 3);
    EXPECT_EQ(cache.committed_tokens(1), 3 * 2 * 3);
    // Moving layers that hold K/V takes the K/V along.
    const auto k0 = cache.keys(0).clone();
    cache.place_layers({kCpu, kCpu});
    EXPECT_EQ(cache.layer_device(0), kCpu);
    EXPECT_EQ(cache.committed_tokens(0), 3 * 2 * 3);
    EXPECT_TRUE(torch::equal(cache.keys(0), k0));

    // The same weights in one place compute the same flow.
    dit->place_blocks({});
    EXPECT_EQ(dit->block_devices(), (std::vector<torch::Device>{kCpu, kCpu}));
    const auto dense = model::causal_forward(*dit, x, torch::full({1}, 500.0), cross, single, 0,
                                             model::CacheWrite::Commit);
    EXPECT_TRUE(torch::equal(placed, dense));
}

class EditorPlacement : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        s_pack = new pipeline::ModelPack(lipar::test::random_pack("lipar_placement_pack"));  // nano: 4 blocks
    }
    static pipeline::EditorSettings settings(std::vector<torch::Device> blocks, int64_t stages) {
        auto s = lipar::test::latents_settings();
        s.block_devices = std::move(blocks);
        s.pipeline_stages = stages;
        return s;
    }
    // Edits 4 blocks in each mode with both editors; every block's x0 must be equal.
    static void expect_same_edit(pipeline::Editor& one, pipeline::Editor& placed) {
        const int64_t fpb = 3;
        const auto z = lipar::test::changing_patch_scene(16, 4 * fpb, 8, 16);
        for (auto mode : {EditMode::Off, EditMode::Naive, EditMode::Lipar}) {
            EditParams p;
            p.mode = mode;
            p.prompt = "a watercolor";
            p.seed = 11;
            for (auto* e : {&one, &placed}) {
                e->reset();
                e->set_params(p);
            }
            double kept = 0;
            for (int64_t b = 0; b < 4; ++b) {
                const auto a = one.edit_latents(z.narrow(1, b * fpb, fpb));
                const auto c = placed.edit_latents(z.narrow(1, b * fpb, fpb));
                EXPECT_LE(relative_error(c, a), 1e-6) << edit_mode_name(mode) << " block " << b;
                EXPECT_EQ(one.last_report().kept_ratio, placed.last_report().kept_ratio);
                if (b > 0) kept += one.last_report().kept_ratio / 3;
            }
            if (mode != EditMode::Off) EXPECT_LT(kept, 0.9) << edit_mode_name(mode) << ": pruning must be exercised";
        }
    }
    static pipeline::ModelPack* s_pack;
};
pipeline::ModelPack* EditorPlacement::s_pack = nullptr;

TEST_F(EditorPlacement, blocks_on_two_devices_edit_as_on_one_in_off_naive_and_lipar) {
    pipeline::Editor one(*s_pack, settings({}, 1));
    pipeline::Editor placed(*s_pack, settings({kCpu, kOther, kOther, kCpu}, 1));
    expect_same_edit(one, placed);
}

TEST_F(EditorPlacement, blocks_on_two_devices_with_two_pipeline_stages_edit_as_on_one) {
    if (!parallel::stage_pipelines_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    pipeline::Editor one(*s_pack, settings({}, 1));
    pipeline::Editor placed(*s_pack, settings({kCpu, kCpu, kOther, kOther}, 2));
    expect_same_edit(one, placed);
}

TEST_F(EditorPlacement, stages_on_two_devices_edit_as_one_and_a_re_split_moves_blocks_with_their_state) {
    if (!parallel::stage_pipelines_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    auto s = settings({}, 2);
    s.stage_devices = {kCpu, kOther};
    pipeline::Editor one(*s_pack, settings({}, 1)), placed(*s_pack, s);
    using parallel::LayerRange;
    EXPECT_EQ(placed.block_devices(), (std::vector<torch::Device>{kCpu, kCpu, kOther, kOther}));
    EXPECT_EQ(one.stage_ranges(), (std::vector<LayerRange>{{0, 4}}));
    EXPECT_THROW(one.set_stage_ranges({{0, 2}, {2, 4}}), Error);  // one stage: nothing to split
    const int64_t fpb = 3, blocks = 7;
    const auto z = lipar::test::changing_patch_scene(16, blocks * fpb, 8, 16);
    EditParams p;
    p.mode = EditMode::Lipar;
    p.prompt = "a watercolor";
    p.seed = 11;
    one.set_params(p);
    placed.set_params(p);
    for (int64_t b = 0; b < blocks; ++b) {
        if (b == 3 || b == 5) {
            // Mid-stream, with K/V committed and a clean reference in every layer: stage 0 takes
            // one block (the rest move to the second device), then three.
            const std::vector<LayerRange> split =
                b == 3 ? std::vector<LayerRange>{{0, 1}, {1, 4}} : std::vector<LayerRange>{{0, 3}, {3, 4}};
            placed.set_stage_ranges(split);
            EXPECT_EQ(placed.stage_ranges(), split);
            std::vector<torch::Device> want;
            for (int64_t i = 0; i < 4; ++i) want.push_back(i < split[0].end ? kCpu : kOther);
            EXPECT_EQ(placed.block_devices(), want) << "block " << b;
        }
        const auto a = one.edit_latents(z.narrow(1, b * fpb, fpb));
        const auto c = placed.edit_latents(z.narrow(1, b * fpb, fpb));
        EXPECT_LE(relative_error(c, a), 1e-6) << "block " << b;
        EXPECT_EQ(one.last_report().kept_ratio, placed.last_report().kept_ratio) << "block " << b;
    }
    EXPECT_THROW(placed.set_stage_ranges({{0, 4}}), Error);  // the same number of stages
}

TEST_F(EditorPlacement, device_lists_of_the_wrong_length_or_both_kinds_are_refused) {
    auto refused = [](const pipeline::EditorSettings& s, const std::string& says) {
        try {
            pipeline::Editor e(*s_pack, s);
            ADD_FAILURE() << "accepted: " << says;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), StatusCode::InvalidArgument);
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
    };
    refused(settings({kCpu, kOther}, 1), "4 blocks");
    auto per_stage = settings({}, 2);
    per_stage.stage_devices = {kCpu, kOther, kOther};
    refused(per_stage, "2 pipeline stages, got 3");
    auto both = settings({kCpu, kCpu, kOther, kOther}, 2);
    both.stage_devices = {kCpu, kOther};
    refused(both, "not both");
}

}  // namespace
}  // namespace lipar
