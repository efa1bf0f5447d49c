// Token workers (issue 16, parallel/token_group.h): the c10d all-gather on its own, and the editor
// with two and three workers sharing every DiT pass by tokens against one worker, in off, naive,
// lipar and compare, through a prompt change mid-stream.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

#include "common/editor_fixtures.h"
#include "core/device.h"
#include "core/error.h"
#include "media/convert.h"
#include "parallel/token_group.h"
#include "pipeline/editor.h"
#include "pipeline/random_pack.h"

namespace lipar::parallel {
namespace {

TEST(TokenGroup, gathers_every_workers_share_in_rank_order) {
    if (!token_groups_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    TokenGroupFactory factory(3);
    std::vector<torch::Tensor> got(3);
    std::vector<std::thread> workers;
    for (int rank = 0; rank < 3; ++rank) {
        workers.emplace_back([&, rank] {
            auto group = factory.connect(rank);
            EXPECT_EQ(group->rank(), rank);
            EXPECT_EQ(group->size(), 3);
            // [1, 2, 2]: rows rank*10 + {0, 1}
            auto share = torch::tensor({rank * 10.0f, rank * 10.0f + 1}).view({1, 2, 1}).expand({1, 2, 2}).contiguous();
            got[static_cast<size_t>(rank)] = group->all_gather(share);
        });
    }
    for (auto& w : workers) w.join();
    const auto want = torch::tensor({0.0f, 1.0f, 10.0f, 11.0f, 20.0f, 21.0f}).view({1, 6, 1}).expand({1, 6, 2});
    for (const auto& g : got) EXPECT_TRUE(torch::equal(g, want)) << g;
}

TEST(TokenGroup, a_worker_that_never_connects_is_reported_not_waited_for) {
    if (!token_groups_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    TokenGroupFactory factory(2, std::chrono::milliseconds(300));
    try {
        factory.connect(0);
        FAIL() << "connected without the second worker";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::DeviceError);
        EXPECT_NE(std::string(e.what()).find("could not connect"), std::string::npos) << e.what();
    }
}


class TokenWorkers : public ::testing::Test {
protected:
    static void SetUpTestSuite() { s_pack = new pipeline::ModelPack(lipar::test::random_pack("lipar_token_pack")); }
    static pipeline::EditorSettings settings(int64_t workers) {
        auto s = lipar::test::latents_settings();
        s.token_workers = workers;
        return s;
    }
    static pipeline::ModelPack* s_pack;
};
pipeline::ModelPack* TokenWorkers::s_pack = nullptr;

TEST_F(TokenWorkers, two_and_three_workers_edit_as_one_in_off_naive_lipar_and_compare) {
    if (!token_groups_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    pipeline::Editor one(*s_pack, settings(1)), two(*s_pack, settings(2)), three(*s_pack, settings(3));
    EXPECT_NE(two.device_name().find("2 token workers"), std::string::npos) << two.device_name();
    const int64_t fpb = 3, blocks = 5;
    const auto z = lipar::test::changing_patch_scene(16, blocks * fpb, 8, 16);
    for (auto mode : {EditMode::Off, EditMode::Naive, EditMode::Lipar, EditMode::Compare}) {
        EditParams p;
        p.mode = mode;
        p.prompt = "a watercolor";
        p.seed = 11;
        for (auto* e : {&one, &two, &three}) {
            e->reset();
            e->set_params(p);
        }
        double kept = 0;
        for (int64_t b = 0; b < blocks; ++b) {
            if (b == 3) {
                // A new prompt mid-stream: every worker switches at this block.
                p.prompt = "an oil painting";
                for (auto* e : {&one, &two, &three}) e->set_params(p);
            }
            const auto a = one.edit_latents(z.narrow(1, b * fpb, fpb));
            for (auto* e : {&two, &three}) {
                const auto c = e->edit_latents(z.narrow(1, b * fpb, fpb));
                EXPECT_LE(relative_error(c, a), 1e-5) << edit_mode_name(mode) << " block " << b;
                EXPECT_EQ(one.last_report().kept_ratio, e->last_report().kept_ratio) << edit_mode_name(mode);
            }
            EXPECT_EQ(two.effective_prompt(), one.effective_prompt());
            if (b > 0) kept += one.last_report().kept_ratio / (blocks - 1);
        }
        if (mode == EditMode::Naive || mode == EditMode::Lipar)
            EXPECT_LT(kept, 0.9) << edit_mode_name(mode) << ": pruning must be exercised";
    }
}

TEST_F(TokenWorkers, live_prompt_changes_switch_every_worker_at_the_block_worker_0_chooses) {
    if (!token_groups_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    // Live: worker 0 goes on with the old prompt until the new one is encoded (aside); the others
    // must switch at the same block. The same prompt schedule applied exactly by one worker then
    // gives the same x0 at every block.
    pipeline::Editor two(*s_pack, settings(2));
    two.set_async_prompts(true);
    const int64_t fpb = 3, blocks = 8;
    const auto z = lipar::test::changing_patch_scene(16, blocks * fpb, 8, 16);
    EditParams p;
    p.mode = EditMode::Lipar;
    p.prompt = "a watercolor";
    p.seed = 11;
    two.set_params(p);
    std::vector<torch::Tensor> x0;
    std::vector<std::string> used;
    for (int64_t b = 0; b < blocks; ++b) {
        if (b == 2) {
            p.prompt = "an oil painting";
            two.set_params(p);
        }
        x0.push_back(two.edit_latents(z.narrow(1, b * fpb, fpb)));
        used.push_back(two.effective_prompt());
    }
    EXPECT_EQ(used.back(), "an oil painting") << "the new prompt never took over";
    pipeline::Editor one(*s_pack, settings(1));
    for (int64_t b = 0; b < blocks; ++b) {
        p.prompt = used[static_cast<size_t>(b)];
        one.set_params(p);
        const auto a = one.edit_latents(z.narrow(1, b * fpb, fpb));
        EXPECT_LE(relative_error(x0[static_cast<size_t>(b)], a), 1e-5) << "block " << b << ", " << used[static_cast<size_t>(b)];
    }
}

// A worker's share of the tokens goes through matrix products of other row counts than the whole,
// which may round differently: the frames agree within a rounding's distance.
TEST(TokenWorkersVideo, two_workers_edit_frames_as_one_through_push_and_flush) {
    if (!token_groups_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    const auto pack = lipar::test::random_pack("lipar_token_video", "tiny", 1);  // with an autoencoder
    auto settings = [](int64_t workers) {
        pipeline::EditorSettings s;
        s.width = 128;
        s.height = 64;
        s.token_workers = workers;
        return s;
    };
    pipeline::Editor one(pack, settings(1)), two(pack, settings(2));
    EditParams p;
    p.prompt = "a pencil sketch";
    std::vector<Frame> frames;
    for (int i = 0; i < 22; ++i) {  // a bar moving over a still gradient; 22: the last block is partial
        Frame f;
        f.width = 128;
        f.height = 64;
        f.index = i;
        f.rgb.resize(f.byte_size());
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 128; ++x) {
                uint8_t* px = f.pixel(x, y);
                const bool bar = x >= 4 * i && x < 4 * i + 12;
                px[0] = bar ? 250 : static_cast<uint8_t>(2 * x);
                px[1] = static_cast<uint8_t>(4 * y);
                px[2] = bar ? 10 : 128;
            }
        frames.push_back(std::move(f));
    }
    std::vector<std::vector<Frame>> out(2);
    for (int run = 0; run < 2; ++run) {  // off, then lipar (from reset())
        p.mode = run == 0 ? EditMode::Off : EditMode::Lipar;
        for (int e = 0; e < 2; ++e) {
            auto& ed = e == 0 ? one : two;
            out[static_cast<size_t>(e)].clear();
            ed.reset();
            ed.set_params(p);
            for (const auto& f : frames)
                for (auto& r : ed.push(f)) out[static_cast<size_t>(e)].push_back(std::move(r.output));
            for (auto& r : ed.flush()) out[static_cast<size_t>(e)].push_back(std::move(r.output));
        }
        ASSERT_EQ(out[0].size(), out[1].size());
        ASSERT_FALSE(out[0].empty());
        for (size_t k = 0; k < out[0].size(); ++k)
            EXPECT_GE(media::psnr_db(out[1][k], out[0][k]), 60.0) << edit_mode_name(p.mode) << ", output frame " << k;
    }
}

TEST_F(TokenWorkers, a_worker_that_fails_is_reported_with_its_error_not_waited_for_and_the_rest_refused) {
    if (!token_groups_available()) GTEST_SKIP() << "this build has no c10d/Gloo";
    // Worker 1 runs out of memory (simulated) in block 1: in off mode while worker 0 waits for it
    // in a gather (worker 0 times out, and worker 1's error is the one reported), in lipar mode
    // where that block needs no pass after it (worker 0 finishes, then hears of it).
    const auto worker_0 = std::this_thread::get_id();
    auto s = settings(2);
    s.worker_timeout = std::chrono::milliseconds(1500);
    s.noise = [worker_0](int64_t block, int64_t step, c10::IntArrayRef sizes) {
        if (block == 1 && step == 1 && std::this_thread::get_id() != worker_0)
            fail(StatusCode::OutOfMemory, "simulated: CUDA out of memory");
        auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(block * 10 + step));
        return torch::randn(sizes, gen);
    };
    for (auto mode : {EditMode::Off, EditMode::Lipar}) {
        pipeline::Editor two(*s_pack, s);
        EditParams p;
        p.mode = mode;
        p.prompt = "a watercolor";
        two.set_params(p);
        const auto z = lipar::test::changing_patch_scene(16, 6, 8, 16);
        two.edit_latents(z.narrow(1, 0, 3));
        const auto started = std::chrono::steady_clock::now();
        try {
            two.edit_latents(z.narrow(1, 3, 3));
            ADD_FAILURE() << edit_mode_name(mode) << ": the failed worker went unnoticed";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), StatusCode::OutOfMemory) << e.what();
            EXPECT_NE(std::string(e.what()).find("token worker 1"), std::string::npos) << e.what();
        }
        EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
        try {
            two.edit_latents(z.narrow(1, 3, 3));
            ADD_FAILURE() << edit_mode_name(mode) << ": an edit after the failure was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), StatusCode::DeviceError);
            EXPECT_NE(std::string(e.what()).find("restart"), std::string::npos) << e.what();
        }
    }
}

TEST_F(TokenWorkers, bad_worker_counts_and_combinations_are_refused) {
    auto refused = [](pipeline::EditorSettings s, StatusCode code, const std::string& says) {
        try {
            pipeline::Editor e(*s_pack, s);
            ADD_FAILURE() << "accepted: " << says;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), code) << e.what();
            EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
        }
    };
    refused(settings(0), StatusCode::InvalidArgument, "1..16");
    refused(settings(17), StatusCode::InvalidArgument, "1..16");
    auto both = settings(2);
    both.pipeline_stages = 2;
    refused(both, StatusCode::InvalidArgument, "cannot be combined");
    auto gpu = settings(2);
    gpu.device = torch::Device(torch::kCUDA, 0);
    refused(gpu, StatusCode::Unsupported, "need NCCL");
}

}  // namespace
}  // namespace lipar::parallel
