// Pipeline stages (issue 16, parallel/): balancing the blocks over stages, the c10d/Gloo stage
// pipeline on its own, and the editor with two CPU workers against one in off, naive and lipar.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "common/editor_fixtures.h"
#include "core/device.h"
#include "core/error.h"
#include "lipar/gpu_env.h"
#include "parallel/stage_pipeline.h"
#include "parallel/stage_plan.h"
#include "pipeline/editor.h"
#include "pipeline/random_pack.h"

namespace lipar::parallel {
namespace {

TEST(StagePlan, balances_blocks_by_cost_into_contiguous_stages) {
    const std::vector<LayerRange> four = balance_stages(std::vector<double>(30, 1.0), 4);
    EXPECT_EQ(four, (std::vector<LayerRange>{{0, 8}, {8, 16}, {16, 24}, {24, 30}}));
    EXPECT_EQ(describe_stages(four), "0-7 | 8-15 | 16-23 | 24-29");
    // Measured costs, not block counts: one slow block gets a stage of its own.
    EXPECT_EQ(balance_stages({5, 1, 1, 1, 1, 1}, 2), (std::vector<LayerRange>{{0, 1}, {1, 6}}));
    EXPECT_EQ(balance_stages({1, 1, 1, 1, 1, 4}, 2), (std::vector<LayerRange>{{0, 5}, {5, 6}}));
    EXPECT_EQ(balance_stages({2, 2, 2}, 1), (std::vector<LayerRange>{{0, 3}}));
    EXPECT_EQ(balance_stages({1, 1, 1}, 3), (std::vector<LayerRange>{{0, 1}, {1, 2}, {2, 3}}));
    // The first stage's thread also encodes, detects and decodes: charged to it, it takes fewer.
    EXPECT_EQ(balance_stages({1, 1, 1, 1}, 2, 2.0), (std::vector<LayerRange>{{0, 1}, {1, 4}}));
    EXPECT_EQ(balance_stages({1, 1, 1, 1}, 2, 0.5), (std::vector<LayerRange>{{0, 2}, {2, 4}}));
    EXPECT_THROW(balance_stages({1, 1}, 2, -1.0), Error);
    EXPECT_THROW(balance_stages({1, 1}, 3), Error);
    EXPECT_THROW(balance_stages({1, 1}, 0), Error);
    EXPECT_THROW(balance_stages({1, -1}, 1), Error);
}

// `pass` must throw an OutOfMemory Error naming the failed stage and carrying its message.
template <typename Pass>
void expect_stage_failure(Pass pass, const std::string& stage, const std::string& message) {
    try {
        pass();
        ADD_FAILURE() << "a failing stage must make the pass throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::OutOfMemory);
        EXPECT_NE(std::string(e.what()).find(stage), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
}

TEST(StagePipeline, nvlink_multicast_stays_off) {
    ::setenv("NCCL_NVLS_ENABLE", "1", 1);
    ::unsetenv("TORCH_SYMM_MEM_DISABLE_MULTICAST");
    if (stage_pipelines_available()) {
        auto runner = make_stage_pipeline({{0, 1}, {1, 2}}, torch::kCPU, std::chrono::seconds(20));
    } else {
        keep_nvlink_multicast_off();
    }
    ASSERT_NE(std::getenv("NCCL_NVLS_ENABLE"), nullptr);
    EXPECT_STREQ(std::getenv("NCCL_NVLS_ENABLE"), "0");
    ASSERT_NE(std::getenv("TORCH_SYMM_MEM_DISABLE_MULTICAST"), nullptr);
    EXPECT_STREQ(std::getenv("TORCH_SYMM_MEM_DISABLE_MULTICAST"), "1");
}

TEST(StagePipeline, runs_every_block_in_order_over_the_stages_and_reports_a_failing_stage) {
    if (!stage_pipelines_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    auto runner = make_stage_pipeline({{0, 2}, {2, 3}, {3, 6}}, torch::kCPU, std::chrono::seconds(20));
    ASSERT_TRUE(runner);
    std::atomic<int> grad_enabled_seen{0};
    std::atomic<int> fail_at{-1};
    model::LayerRunner::Layer layer = [&](int64_t i, const torch::Tensor& x) {
        if (torch::GradMode::is_enabled()) ++grad_enabled_seen;
        if (i == fail_at.load()) fail(StatusCode::OutOfMemory, "no room for block ", i);
        return x * double(i + 2) + double(i);
    };
    auto x = torch::randn({1, 5, 4});
    auto expected = x.clone();
    for (int64_t i = 0; i < 6; ++i) expected = expected * double(i + 2) + double(i);
    {
        torch::NoGradGuard no_grad;  // the workers run with the caller's thread-local state
        for (int pass = 0; pass < 3; ++pass) EXPECT_TRUE(torch::equal(runner->run(x, 6, layer), expected)) << pass;
    }
    EXPECT_EQ(grad_enabled_seen.load(), 0);
    // A block failing on stage 2 (blocks 3-5): the pass throws that stage's error, nothing hangs,
    // and the next pass works.
    fail_at = 4;
    expect_stage_failure([&] { runner->run(x, 6, layer); }, "stage 2 (blocks 3-5)", "no room for block 4");
    fail_at = 0;  // on the caller's own stage
    EXPECT_THROW(runner->run(x, 6, layer), Error);
    fail_at = -1;
    EXPECT_TRUE(torch::equal(runner->run(x, 6, layer), expected));
    EXPECT_THROW(runner->run(x, 7, layer), Error);  // not the model the stages were made for
    EXPECT_THROW(make_stage_pipeline({{0, 2}, {3, 4}}, torch::kCPU), Error);  // a gap
}

// The assembly line: a detached pass (the committing t = 0 pass) returns once stage 0 is done;
// the next pass's first blocks run on the caller while stage 1 still holds it, and stage 1 takes
// the next pass only after it (block i of a pass after block i of the one before).
TEST(StagePipeline, a_detached_pass_overlaps_the_next_one_and_keeps_the_order_per_stage) {
    if (!stage_pipelines_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    auto runner = make_stage_pipeline({{0, 1}, {1, 3}}, torch::kCPU, std::chrono::seconds(20));
    ASSERT_TRUE(runner);
    std::mutex mutex;
    std::vector<std::string> order;  // "pass:block" as the blocks finish
    auto record = [&](const char* pass, int64_t i) {
        std::lock_guard<std::mutex> lock(mutex);
        order.push_back(std::string(pass) + ":" + std::to_string(i));
    };
    std::atomic<bool> release{false};
    model::LayerRunner::Layer commit = [&](int64_t i, const torch::Tensor& x) {
        if (i == 1) {
            // Stage 1 holds the detached pass until the caller is inside the next pass.
            for (int w = 0; w < 10000 && !release.load(); ++w) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        record("commit", i);
        return x + 1.0;
    };
    auto x = torch::ones({1, 3, 2});
    runner->run_detached(x, 3, commit);
    {
        std::lock_guard<std::mutex> lock(mutex);
        EXPECT_EQ(order, (std::vector<std::string>{"commit:0"})) << "run_detached waited for the later stage";
    }
    model::LayerRunner::Layer next = [&](int64_t i, const torch::Tensor& x) {
        record("next", i);
        if (i == 0) release = true;
        return x * 2.0;
    };
    auto y = runner->run(x, 3, next);
    EXPECT_TRUE(torch::equal(y, x * 8.0));
    EXPECT_EQ(order, (std::vector<std::string>{"commit:0", "next:0", "commit:1", "commit:2", "next:1", "next:2"}));
    runner->drain();  // nothing in flight: nothing to wait for
}

TEST(StagePipeline, a_detached_pass_that_fails_is_reported_by_the_next_pass_or_drain) {
    if (!stage_pipelines_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    auto runner = make_stage_pipeline({{0, 1}, {1, 2}}, torch::kCPU, std::chrono::seconds(20));
    ASSERT_TRUE(runner);
    model::LayerRunner::Layer failing = [](int64_t i, const torch::Tensor& x) {
        if (i == 1) fail(StatusCode::OutOfMemory, "no room to commit block ", i);
        return x;
    };
    model::LayerRunner::Layer plus_one = [](int64_t, const torch::Tensor& x) { return x + 1.0; };
    auto x = torch::zeros({1, 2, 2});
    runner->run_detached(x, 2, failing);
    expect_stage_failure([&] { runner->run(x, 2, plus_one); }, "stage 1 (blocks 1-1)", "no room to commit block 1");
    // Nothing left in flight, nothing hangs: the pipeline goes on.
    EXPECT_TRUE(torch::equal(runner->run(x, 2, plus_one), x + 2.0));
    runner->run_detached(x, 2, failing);
    EXPECT_THROW(runner->drain(), Error);
    runner->drain();
    // Failing on the caller's own stage: thrown at once.
    model::LayerRunner::Layer first_fails = [](int64_t i, const torch::Tensor& x) {
        if (i == 0) fail(StatusCode::InvalidArgument, "bad block");
        return x;
    };
    EXPECT_THROW(runner->run_detached(x, 2, first_fails), Error);
    EXPECT_TRUE(torch::equal(runner->run(x, 2, plus_one), x + 2.0));
}

// Measured and re-split: each stage's time per pass, and new ranges that take effect at the next
// pass (the caller's thread runs stage 0's blocks).
TEST(StagePipeline, reports_each_stages_time_and_re_splits_the_blocks) {
    if (!stage_pipelines_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    auto runner = make_stage_pipeline({{0, 1}, {1, 4}}, torch::kCPU, std::chrono::seconds(20));
    ASSERT_TRUE(runner);
    const auto caller = std::this_thread::get_id();
    std::mutex mutex;
    std::vector<bool> on_caller(4, false);
    model::LayerRunner::Layer layer = [&](int64_t i, const torch::Tensor& x) {
        if (i == 3) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::lock_guard<std::mutex> lock(mutex);
        on_caller[static_cast<size_t>(i)] = std::this_thread::get_id() == caller;
        return x + double(i);
    };
    auto x = torch::zeros({1, 2, 2});
    runner->take_busy();
    EXPECT_TRUE(torch::equal(runner->run(x, 4, layer), x + 6.0));
    runner->run_detached(x, 4, layer);
    runner->drain();
    auto busy = runner->take_busy();
    EXPECT_EQ(busy.passes, 2);
    ASSERT_EQ(busy.ms.size(), 2u);
    EXPECT_GE(busy.ms[1], 2 * 20.0);  // block 3 sleeps on stage 1
    EXPECT_LT(busy.ms[0], busy.ms[1]);
    EXPECT_EQ(on_caller, (std::vector<bool>{true, false, false, false}));
    runner->set_ranges({{0, 3}, {3, 4}});
    EXPECT_EQ(runner->ranges(), (std::vector<LayerRange>{{0, 3}, {3, 4}}));
    EXPECT_TRUE(torch::equal(runner->run(x, 4, layer), x + 6.0));
    EXPECT_EQ(on_caller, (std::vector<bool>{true, true, true, false}));
    EXPECT_EQ(runner->take_busy().passes, 1);
    EXPECT_THROW(runner->set_ranges({{0, 4}}), Error);            // another number of stages
    EXPECT_THROW(runner->set_ranges({{0, 2}, {2, 3}}), Error);    // not every block
    EXPECT_THROW(runner->set_ranges({{0, 2}, {3, 4}}), Error);    // a gap
}


TEST(StagePipeline, two_cpu_workers_edit_exactly_as_one_in_off_naive_and_lipar) {
    if (!stage_pipelines_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    // nano: 4 blocks, which the editor may re-split by measured time after block 2
    const auto pack = lipar::test::random_pack("lipar_stage_test_pack");
    auto settings = [](int64_t stages) {
        auto s = lipar::test::latents_settings();
        s.pipeline_stages = stages;
        return s;
    };
    pipeline::Editor one(pack, settings(1)), two(pack, settings(2));
    const int64_t fpb = 3;
    const auto z = lipar::test::changing_patch_scene(16, 4 * fpb, 8, 16);
    for (auto mode : {EditMode::Off, EditMode::Naive, EditMode::Lipar}) {
        EditParams p;
        p.mode = mode;
        p.prompt = "a watercolor";
        p.seed = 11;
        double kept = 0;
        for (auto* e : {&one, &two}) {
            e->reset();
            e->set_params(p);
        }
        for (int64_t b = 0; b < 4; ++b) {
            const auto a = one.edit_latents(z.narrow(1, b * fpb, fpb));
            const auto c = two.edit_latents(z.narrow(1, b * fpb, fpb));
            EXPECT_LE(relative_error(c, a), 1e-5) << edit_mode_name(mode) << " block " << b;
            EXPECT_EQ(one.last_report().kept_ratio, two.last_report().kept_ratio);
            if (b > 0) kept += one.last_report().kept_ratio / 3;
        }
        if (mode != EditMode::Off) EXPECT_LT(kept, 0.9) << edit_mode_name(mode) << ": pruning must be exercised";
    }
}

}  // namespace
}  // namespace lipar::parallel
