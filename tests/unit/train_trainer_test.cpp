// The Nano training code at a tiny size on the CPU: losses fall, a resumed run equals an
// uninterrupted one, the exported pack loads and edits, and `lipar train` refuses bad input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/temp_dir.h"
#include "core/device.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/text/tokenizer.h"
#include "model/vae/tae_layers.h"
#include "pipeline/editor.h"
#include "pipeline/model_pack.h"
#include "train/autoencoder_trainer.h"
#include "train/editor_trainer.h"
#include "train/nano_pack.h"

namespace lipar::train {
namespace {

namespace fs = std::filesystem;

const std::string kTokenizer = std::string(LIPAR_RESOURCES_DIR) + "/tokenizer/nano.model";

const VideoDataset& tiny_data() {
    static const VideoDataset data = [] {
        use_all_cpu_threads();
        DatasetOptions o;
        o.inputs = {LIPAR_TEST_CLIP};
        o.short_side = 48;
        o.max_frames_per_video = 64;
        return VideoDataset::load(o);
    }();
    return data;
}

std::shared_ptr<model::Taehv> nano_autoencoder(uint64_t seed) {
    auto ae = std::make_shared<model::Taehv>(model::TaehvConfig::nano(), torch::TensorOptions());
    torch::NoGradGuard no_grad;
    model::randomize_parameters(*ae, seed);
    return ae;
}

double mean_of(const std::vector<double>& v, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += v[i];
    return s / double(to - from);
}

TEST(TrainData, split_holds_out_the_tail_and_samples_the_requested_shape) {
    const auto& d = tiny_data();
    EXPECT_EQ(d.videos(), 1);
    EXPECT_EQ(d.frames(Split::Train) + d.frames(Split::Eval), 64);
    EXPECT_EQ(d.frames(Split::Eval), 64 - 51);  // floor(64 * 0.8) train
    std::mt19937_64 rng(1);
    auto b = d.batch(rng, 2, 8, 32, 48);
    EXPECT_EQ(b.sizes(), c10::IntArrayRef({2, 8, 3, 32, 48}));
    EXPECT_GE(b.min().item<float>(), 0.0f);
    EXPECT_LE(b.max().item<float>(), 1.0f);
    std::mt19937_64 rng2(1);
    EXPECT_TRUE(torch::equal(b, d.batch(rng2, 2, 8, 32, 48)));  // seeded
}

TEST(TrainData, missing_data_is_refused_with_the_path) {
    DatasetOptions o;
    o.inputs = {"/nonexistent/clips"};
    try {
        VideoDataset::load(o);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::NotFound);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/clips"), std::string::npos);
    }
}

TEST(TrainAutoencoder, loss_falls_and_a_resumed_run_equals_an_uninterrupted_one) {
    test::TempDir dir;
    AutoencoderTrainOptions o;
    o.steps = 40;
    o.batch = 2;
    o.frames = 8;
    o.height = 32;
    o.width = 48;
    o.report_every = 1;
    std::vector<double> losses;
    auto ae = nano_autoencoder(5);
    train_autoencoder(*ae, tiny_data(), o, [&](const TrainProgress& p) { losses.push_back(p.loss); });
    ASSERT_EQ(losses.size(), 40u);
    EXPECT_LT(mean_of(losses, 30, 40), 0.8 * mean_of(losses, 0, 10));

    // 12 steps straight vs a run interrupted at step 10 (last checkpoint: step 8) and resumed.
    o.steps = 12;
    auto straight = nano_autoencoder(6);
    train_autoencoder(*straight, tiny_data(), o, {});
    o.checkpoint_dir = dir.path().string();
    o.checkpoint_every = 4;
    auto first = nano_autoencoder(6);
    EXPECT_THROW(train_autoencoder(*first, tiny_data(), o,
                                   [](const TrainProgress& p) {
                                       if (p.step == 10) throw std::runtime_error("interrupted");
                                   }),
                 std::runtime_error);
    auto resumed = nano_autoencoder(99);  // weights come from the checkpoint
    train_autoencoder(*resumed, tiny_data(), o, {});
    const auto a = model::parameters_to_map(*straight), b = model::parameters_to_map(*resumed);
    for (const auto& [name, t] : a) {
        EXPECT_TRUE(torch::allclose(t, b.at(name), 1e-5, 1e-6)) << name;
    }
}

TEST(TrainEditor, loss_falls_and_the_exported_pack_loads_and_edits) {
    if (!model::Tokenizer::available()) GTEST_SKIP() << "no SentencePiece shim in this build";
    model::Tokenizer tokenizer(kTokenizer);
    auto ae = nano_autoencoder(7);
    ae->eval();
    auto dit_config = model::DitConfig::tiny();
    dit_config.num_layers = 1;
    dit_config.text_len = 8;
    model::Umt5Config text_config;
    text_config.vocab_size = tokenizer.vocab_size();
    text_config.d_model = dit_config.text_dim;
    text_config.num_heads = 2;
    text_config.d_kv = dit_config.text_dim / 2;
    text_config.num_layers = 1;
    text_config.d_ff = 64;
    EditorModules modules(dit_config, text_config, torch::TensorOptions(), 3);
    EditorTrainOptions o;
    o.steps = 60;
    o.batch = 2;
    o.blocks = 2;
    o.height = 32;
    o.width = 48;
    o.text_len = 8;
    o.lr = 1e-3;
    o.report_every = 1;
    std::map<std::string, torch::Tensor> before;
    for (const auto& item : modules->named_parameters()) before[item.key()] = item.value().detach().clone();
    std::vector<double> losses;
    train_editor(modules, *ae, tokenizer, tiny_data(), o,
                 [&](const TrainProgress& p) { losses.push_back(p.loss); });
    ASSERT_EQ(losses.size(), 60u);
    EXPECT_LT(mean_of(losses, 45, 60), 0.8 * mean_of(losses, 0, 15));
    // Trained jointly: the text encoder's weights learn as the DiT's do (a module left without
    // gradients would keep its random initialisation).
    int text_changed = 0, text_total = 0, dit_changed = 0;
    for (const auto& item : modules->named_parameters()) {
        const bool changed = !torch::equal(before.at(item.key()), item.value().detach());
        if (item.key().rfind("text.", 0) == 0) {
            ++text_total;
            text_changed += changed;
        } else if (changed) {
            ++dit_changed;
        }
    }
    EXPECT_GT(text_total, 0);
    EXPECT_EQ(text_changed, text_total);
    EXPECT_GT(dit_changed, 0);

    test::TempDir dir;
    NanoPackContent c;
    c.out = (dir.path() / "pack").string();
    c.tokenizer = kTokenizer;
    c.model_card = "# test pack\n";
    c.steps = {60, 20};
    c.text_len = 8;
    c.width = 48;
    c.height = 32;
    write_nano_pack(c, *ae, *modules);
    EXPECT_FALSE(fs::exists(dir.path() / "pack.partial"));
    auto pack = pipeline::ModelPack::load(c.out);
    EXPECT_FALSE(pack.untrained);
    EXPECT_EQ(pack.window_recent, 6);  // the paper's m = [1, 6]: 3 committed frames + the block
    EXPECT_GE(pack.styles.size(), 13u);
    EXPECT_EQ(io::read_safetensors_header(pack.dit_weights).tensors.front().dtype, "F16");
    pipeline::Editor editor(pack, pipeline::EditorSettings{});
    EditParams p;
    p.prompt = "sepia";
    editor.set_params(p);
    EXPECT_EQ(editor.step_list(), (std::vector<double>{60, 20}));
    Frame f;
    f.resize(48, 32);
    std::fill(f.rgb.begin(), f.rgb.end(), 128);
    std::vector<pipeline::EditedFrame> out;
    for (int i = 0; i < 12; ++i) {
        auto got = editor.push(f);
        out.insert(out.end(), got.begin(), got.end());
    }
    EXPECT_EQ(out.size(), 12u);  // the Nano autoencoder withholds no frame
}

int run_cli(const std::string& args, std::string* output) {
    const std::string log = (fs::temp_directory_path() / "lipar_train_cli.log").string();
    const int rc = std::system((std::string(LIPAR_CLI_PATH) + " train " + args + " > " + log + " 2>&1").c_str());
    std::ifstream in(log);
    output->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return WEXITSTATUS(rc);
}

TEST(TrainCli, refuses_missing_data_and_unwritable_output) {
    test::TempDir dir;
    std::string out;
    EXPECT_EQ(run_cli("--data /nonexistent.mp4 --tokenizer " + kTokenizer + " --out " +
                          dir.file("pack") + " --device cpu",
                      &out),
              1);
    EXPECT_NE(out.find("/nonexistent.mp4"), std::string::npos) << out;
    EXPECT_NE(out.find("does not exist"), std::string::npos) << out;
    // A folder cannot be made under a regular file, whoever runs the test.
    std::ofstream(dir.file("blocker")) << "x";
    EXPECT_EQ(run_cli(std::string("--data ") + LIPAR_TEST_CLIP + " --tokenizer " + kTokenizer +
                          " --out " + dir.file("blocker/pack") + " --device cpu",
                      &out),
              1);
    EXPECT_NE(out.find("cannot create"), std::string::npos) << out;
}

}  // namespace
}  // namespace lipar::train
