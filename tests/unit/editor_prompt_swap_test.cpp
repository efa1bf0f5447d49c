// Live prompt changes: the stream goes on with the old prompt while the new one is encoded on
// its own thread, and swaps at the first block after it is ready.
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>

#include "common/remove_tree.h"
#include "core/device.h"
#include "media/video_source.h"
#include "pipeline/editor.h"
#include "pipeline/random_pack.h"

namespace lipar::pipeline {
namespace {

namespace fs = std::filesystem;

const ModelPack& swap_pack() {
    static ModelPack pack = [] {
        RandomPackOptions o;
        o.config = "tiny";
        o.out = (fs::temp_directory_path() / ("lipar_swap_test_pack_" + std::to_string(::getpid())))
                    .string();
        o.seed = 3;
        lipar::test::remove_tree_at_exit(o.out);
        return write_random_pack(o);
    }();
    return pack;
}

// The pack's seeded prompt embeddings, except that encoding a gated prompt blocks until the test
// opens the gate (a text encoder that takes its time).
class GatedConditioner : public PromptConditioner {
  public:
    struct Gate {
        std::mutex mutex;
        std::condition_variable cv;
        std::set<std::string> closed;
        int started = 0;
        void open(const std::string& p) {
            std::lock_guard<std::mutex> lock(mutex);
            closed.erase(p);
            cv.notify_all();
        }
    };
    GatedConditioner(std::shared_ptr<Gate> gate, int64_t text_len, int64_t text_dim)
        : m_gate(std::move(gate)), m_inner(make_hashed_conditioner(text_len, text_dim, torch::kCPU)) {}
    torch::Tensor embed(const std::string& prompt) override {
        std::unique_lock<std::mutex> lock(m_gate->mutex);
        ++m_gate->started;
        m_gate->cv.notify_all();
        m_gate->cv.wait(lock, [&] { return m_gate->closed.count(prompt) == 0; });
        lock.unlock();
        return m_inner->embed(prompt);
    }
    std::string kind() const override { return "gated"; }

  private:
    std::shared_ptr<Gate> m_gate;
    std::unique_ptr<PromptConditioner> m_inner;
};

std::vector<EditedFrame> push_all(Editor& editor, const std::vector<Frame>& frames) {
    std::vector<EditedFrame> out;
    for (const auto& f : frames) {
        auto o = editor.push(f);
        out.insert(out.end(), o.begin(), o.end());
    }
    return out;
}

TEST(EditorPromptSwap, a_new_prompt_is_encoded_aside_and_swapped_in_at_a_block_boundary) {
    if (!fs::exists(LIPAR_TEST_CLIP)) GTEST_SKIP() << "needs the clip";
    use_all_cpu_threads();
    const auto frames = media::read_video_frames(LIPAR_TEST_CLIP, 36);
    ASSERT_EQ(frames.size(), 36u);
    const std::vector<Frame> b1(frames.begin(), frames.begin() + 12),
        b2(frames.begin() + 12, frames.begin() + 24), b3(frames.begin() + 24, frames.end());
    const auto& pack = swap_pack();
    auto gate = std::make_shared<GatedConditioner::Gate>();
    EditorSettings s;
    s.width = 128;
    s.height = 64;
    s.keep_latents = true;  // the block's x0: the prompt's effect on a random pack is subtle
    s.make_conditioner = [&] {
        return std::make_unique<GatedConditioner>(gate, pack.text_len, 64);
    };
    // Dense: with pruning, the random pack's blocks after the first are all restored copies.
    EditParams a, b;
    a.prompt = "ink";
    a.mode = b.mode = EditMode::Off;
    b.prompt = "sepia";

    // Reference: the new prompt applies exactly at block 3 (files wait for it).
    Editor ref(pack, s);
    ref.set_params(a);
    auto r1 = push_all(ref, b1), r2 = push_all(ref, b2);
    const auto ref_x0_2 = ref.last_report().x0;
    ref.set_params(b);
    auto r3 = push_all(ref, b3);
    const auto ref_x0_3 = ref.last_report().x0;

    // Live: block 2 is asked for "sepia" while its encoder is stuck: it runs with "ink".
    s.async_prompts = true;
    Editor live(pack, s);
    live.set_params(a);
    auto l1 = push_all(live, b1);
    EXPECT_EQ(live.effective_prompt(), "ink");
    gate->closed.insert("sepia");
    live.set_params(b);
    auto l2 = push_all(live, b2);  // must not wait for the gate
    EXPECT_TRUE(torch::equal(live.last_report().x0, ref_x0_2));
    EXPECT_EQ(live.effective_prompt(), "ink");
    EXPECT_NE(live.prompt_status().find("encoding 'sepia'"), std::string::npos)
        << live.prompt_status();
    gate->open("sepia");
    live.wait_for_prompts();
    EXPECT_EQ(live.prompt_status(), "");
    auto l3 = push_all(live, b3);
    EXPECT_EQ(live.effective_prompt(), "sepia");
    EXPECT_TRUE(torch::equal(live.last_report().x0, ref_x0_3));

    ASSERT_EQ(l2.size(), r2.size());
    ASSERT_EQ(l3.size(), r3.size());
    ASSERT_FALSE(l2.empty());
    for (size_t i = 0; i < l2.size(); ++i) EXPECT_EQ(l2[i].output.rgb, r2[i].output.rgb) << i;
    for (size_t i = 0; i < l3.size(); ++i) EXPECT_EQ(l3[i].output.rgb, r3[i].output.rgb) << i;
    // The swap really changed the edit (the reference's block 3 differs with the old prompt).
    Editor old_prompt(pack, s);
    old_prompt.set_params(a);
    push_all(old_prompt, b1);
    push_all(old_prompt, b2);
    push_all(old_prompt, b3);
    EXPECT_GT((old_prompt.last_report().x0 - ref_x0_3).abs().max().item<double>(), 1e-4);
}

}  // namespace
}  // namespace lipar::pipeline
