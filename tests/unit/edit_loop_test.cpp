// `lipar tensor edit-loop` (the editor's own block loop with noise from a file) against the loop
// written out here with the model's primitives: SDEdit start from the source latents, x0 from
// the flow, re-noising between passes, the t = 0 pass that commits the cache, window eviction.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <ATen/CPUGeneratorImpl.h>

#include <cstdlib>

#include "common/temp_dir.h"
#include "io/safetensors.h"
#include "model/dit/dit_loader.h"
#include "model/dit/kv_cache.h"
#include "model/vae/tae_layers.h"
#include "pipeline/flow_schedule.h"

namespace lipar::pipeline {
namespace {

// A tiny 2-layer DiT's random weights and the runner's inputs (source latents, prompt, the noise
// of 3 steps per block), written to dir; `blocks` blocks of 3 latent frames of 4x6.
struct EditLoopInputs {
    model::DitConfig c = model::DitConfig::tiny();
    std::string weights;
    io::TensorMap in;
    static constexpr int64_t fpb = 3, h = 4, w = 6;
    EditLoopInputs(const test::TempDir& dir, uint64_t weight_seed, uint64_t input_seed, int64_t blocks) {
        c.num_layers = 2;
        weights = dir.file("dit.safetensors");
        model::WanDit dit(c, torch::TensorOptions());
        model::init_random_weights(*dit, weight_seed);
        io::write_safetensors(weights, model::parameters_to_map(*dit));
        gen = at::detail::createCPUGenerator(input_seed);
        in["z"] = torch::randn({c.in_channels, blocks * fpb, h, w}, gen);
        in["context"] = torch::randn({1, 8, c.text_dim}, gen);
        for (int64_t b = 0; b < blocks; ++b)
            for (int64_t s = 0; s < 3; ++s)
                in["noise_b" + std::to_string(b) + "_s" + std::to_string(s)] =
                    torch::randn({1, c.in_channels, fpb, h, w}, gen);
    }
    at::Generator gen;
};

TEST(EditLoop, runner_equals_the_loop_written_out_with_the_model_primitives) {
    test::TempDir dir;
    const int64_t blocks = 4;  // 4 blocks: the {1, 3} window evicts
    EditLoopInputs inputs(dir, 11, 5, blocks);
    const auto& c = inputs.c;
    const auto& weights = inputs.weights;
    auto& in = inputs.in;
    const int64_t fpb = inputs.fpb;
    const std::vector<double> steps = {400, 350, 250};
    io::write_safetensors(dir.file("in.safetensors"), in);
    const std::string cmd = std::string(LIPAR_CLI_PATH) + " tensor edit-loop --weights " + weights +
                            " --in " + dir.file("in.safetensors") + " --out " +
                            dir.file("out.safetensors") +
                            " --steps 400,350,250 --sink 1 --recent 3 --head-dim 128 --flows"
                            " > " + dir.file("log.txt") + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const auto out = io::read_safetensors(dir.file("out.safetensors"));
    const auto& x0 = out.at("x0");
    ASSERT_EQ(x0.sizes(), in["z"].sizes());
    EXPECT_EQ(out.count("flow_b3_p2"), 1u);
    {
        // One timing line per block (edit_loop_reference.py --time reads them).
        std::ifstream log(dir.file("log.txt"));
        std::string line;
        int64_t timed = 0;
        while (std::getline(log, line)) {
            if (line.rfind("edit-loop block " + std::to_string(timed) + ": ", 0) == 0 &&
                line.size() > 3 && line.compare(line.size() - 3, 3, " ms") == 0)
                ++timed;
        }
        EXPECT_EQ(timed, blocks);
    }

    torch::NoGradGuard no_grad;
    auto dit = model::load_wan_dit(weights, torch::TensorOptions(), {});
    model::KvCache cache(c.num_layers, c.num_heads, c.head_dim(), model::KvWindow{1, 3},
                         torch::TensorOptions());
    auto cross = dit->encode_context(in["context"]);
    FlowSchedule schedule(5.0);
    const auto ts = schedule.warp(steps);
    for (int64_t b = 0; b < blocks; ++b) {
        auto noise = [&](size_t s) { return in["noise_b" + std::to_string(b) + "_s" + std::to_string(s)]; };
        auto z = in["z"].narrow(1, b * fpb, fpb).unsqueeze(0);
        const double s0 = schedule.sigma(ts[0]);
        auto x = (1.0 - s0) * z + s0 * noise(0);
        torch::Tensor x_out;
        for (size_t i = 0; i < ts.size(); ++i) {
            const double sigma = schedule.sigma(ts[i]);
            auto flow = model::causal_forward(*dit, x, torch::full({1}, ts[i]), cross, cache,
                                              b * fpb, model::CacheWrite::Transient);
            x_out = x - sigma * flow;
            if (i + 1 < ts.size()) {
                const double next = schedule.sigma(ts[i + 1]);
                x = (1.0 - next) * x_out + next * noise(i + 1);
            }
        }
        model::causal_forward(*dit, x_out, torch::zeros({1}), cross, cache, b * fpb,
                              model::CacheWrite::Commit);
        const auto got = x0.narrow(1, b * fpb, fpb).unsqueeze(0);
        const double rel = (got - x_out).norm().item<double>() / x_out.norm().item<double>();
        EXPECT_LT(rel, 1e-5) << "block " << b;
    }
    // The cache was really evicted: the sink plus the 3 most recent frames stay.
    EXPECT_EQ(cache.frames().size(), 4u);
}

TEST(EditLoop, given_keep_masks_drive_naive_and_lipar) {
    // The parity runs give every block's keep mask (keep_b{B}); naive and lipar must use them
    // as given: a fully kept first block computes what off computes, a block that keeps nothing
    // is restored from the previous block's last frame, and recovery changes what lipar attends.
    test::TempDir dir;
    const int64_t blocks = 4, fpb = EditLoopInputs::fpb;
    EditLoopInputs inputs(dir, 12, 6, blocks);
    const auto& weights = inputs.weights;
    auto& in = inputs.in;
    for (int64_t b = 0; b < blocks; ++b) {
        auto keep = torch::rand({fpb, EditLoopInputs::h / 2, EditLoopInputs::w / 2}, inputs.gen) < 0.5;
        if (b == 0) keep.fill_(true);
        if (b == 2) keep.fill_(false);
        in["keep_b" + std::to_string(b)] = keep;
    }
    io::write_safetensors(dir.file("in.safetensors"), in);
    std::map<std::string, torch::Tensor> x0;
    for (const std::string mode : {"off", "naive", "lipar"}) {
        const std::string out = dir.file(mode + ".safetensors");
        const std::string cmd = std::string(LIPAR_CLI_PATH) + " tensor edit-loop --weights " + weights +
                                " --in " + dir.file("in.safetensors") + " --out " + out + " --mode " +
                                mode + " --steps 400,350,250 --sink 1 --recent 3 --head-dim 128 > " +
                                dir.file(mode + ".log") + " 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        x0[mode] = io::read_safetensors(out).at("x0");
    }
    auto block = [&](const std::string& mode, int64_t b) { return x0[mode].narrow(1, b * fpb, fpb); };
    for (const std::string mode : {"naive", "lipar"}) {
        EXPECT_TRUE(torch::allclose(block(mode, 0), block("off", 0), 1e-5, 1e-6)) << mode;
        // block 2 keeps nothing: each of its frames is block 1's last frame
        const auto last = x0[mode].select(1, 2 * fpb - 1);
        for (int64_t f = 0; f < fpb; ++f)
            EXPECT_TRUE(torch::equal(x0[mode].select(1, 2 * fpb + f), last)) << mode << " frame " << f;
        for (int64_t b : {1, 3})
            EXPECT_GT((block(mode, b) - block("off", b)).abs().max().item<double>(), 1e-4)
                << mode << " block " << b << ": the mask changed nothing";
    }
    EXPECT_GT((block("lipar", 3) - block("naive", 3)).abs().max().item<double>(), 1e-4)
        << "attention recovery changed nothing";
}

}  // namespace
}  // namespace lipar::pipeline
