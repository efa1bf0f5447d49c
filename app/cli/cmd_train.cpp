// `lipar train`: trains the Nano model pack (autoencoder, then DiT + text encoder) on real clips
// and stills, and writes the pack. Reproducible from --seed; resumable from --work.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "args.h"
#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "io/weights.h"
#include "model/text/tokenizer.h"
#include "model/vae/tae_layers.h"
#include "train/autoencoder_trainer.h"
#include "train/editor_trainer.h"
#include "train/nano_pack.h"
#include "train/prompts.h"
#include "train/styles.h"

namespace lipar::cli {

namespace fs = std::filesystem;

namespace {

std::string duration(double s) {
    std::ostringstream o;
    const auto total = static_cast<int64_t>(std::max(0.0, s));
    if (total >= 60) o << total / 60 << "m";
    o << std::setw(total >= 60 ? 2 : 1) << std::setfill('0') << total % 60 << "s";
    return o.str();
}

void print_progress(const train::TrainProgress& p) {
    std::cout << "[" << p.stage << "] step " << p.step << "/" << p.steps << " ("
              << (100 * p.step / std::max<int64_t>(1, p.steps)) << "%)  loss " << std::setprecision(4)
              << p.loss << "  lr " << std::setprecision(2) << p.lr << "  " << std::fixed
              << std::setprecision(1) << p.samples_per_s << " clips/s  ETA " << duration(p.eta_s)
              << std::defaultfloat << std::endl;
    if (!p.detail.empty()) std::cout << "    " << p.detail << std::endl;
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

}  // namespace

int cmd_train(const CommandArgs& argv) {
    Args args("train", argv);
    args.option("data", "comma-separated clips, images or folders to train on")
        .option("holdout", "comma-separated file names kept for evaluation only", "")
        .option("tokenizer", "SentencePiece model of the prompts (resources/tokenizer/nano.model)")
        .option("out", "pack folder to write")
        .option("work", "checkpoint folder (default OUT.work); a rerun resumes from it")
        .option("stage", "all, autoencoder or editor", "all")
        .option("seed", "seed of initialisation, sampling and noise", "0")
        .option("device", "cpu, cuda, cuda:N or auto", "auto")
        .option("size", "training crop WxH (multiples of 16)", "320x192")
        .option("short-side", "videos are resized so that their short side is this", "224")
        .option("max-frames", "frames read per video (-1 = all)", "-1")
        .option("ae-steps", "autoencoder steps", "3000")
        .option("ae-batch", "autoencoder clips per step", "16")
        .option("editor-steps", "DiT + text encoder steps", "6000")
        .option("editor-batch", "editor clips per step", "8")
        .option("blocks", "blocks of 3 latent frames per editor clip", "4")
        .option("steps", "the pack's denoising steps (warped, shift 5)", "60,20")
        .option("dit", "DiT configuration: nano or tiny", "nano")
        .option("text-layers", "text encoder layers", "2")
        .option("checkpoint-every", "steps between checkpoints", "500")
        .option("attention", "editor attention on CUDA while training: bf16 or f32", "bf16")
        .flag("profile", "print the editor step's time per phase (waits for the GPU at each)")
        .option("prompt-corpus", "only write every training prompt to this file (one per line, "
                                 "for training the tokenizer) and exit");
    if (!args.parse()) return 0;
    if (args.has("prompt-corpus")) {
        std::ofstream corpus(args.get("prompt-corpus"), std::ios::binary | std::ios::trunc);
        for (const auto& p : train::PromptSampler::all_training_prompts()) corpus << p << "\n";
        LIPAR_CHECK(corpus.good(), StatusCode::IoError, "cannot write ", args.get("prompt-corpus"));
        return 0;
    }
    for (const char* required : {"data", "tokenizer", "out"}) {
        LIPAR_CHECK(args.has(required), StatusCode::InvalidArgument, "--", required,
                    " is required (see lipar train --help)");
    }
    const torch::Device device = parse_device(args.get("device"));
    if (!device.is_cuda()) use_all_cpu_threads();
    const std::string out = args.get("out");
    const std::string work = args.has("work") ? args.get("work") : out + ".work";
    const std::string stage = args.get("stage");
    LIPAR_CHECK(stage == "all" || stage == "autoencoder" || stage == "editor",
                StatusCode::InvalidArgument, "--stage must be all, autoencoder or editor");
    LIPAR_CHECK(args.get("attention") == "bf16" || args.get("attention") == "f32",
                StatusCode::InvalidArgument, "--attention must be bf16 or f32");
    const auto [width, height] = args.get_size("size");
    LIPAR_CHECK(width % 16 == 0 && height % 16 == 0 && width > 0 && height > 0,
                StatusCode::InvalidArgument, "--size must be a multiple of 16");
    const auto seed = static_cast<uint64_t>(args.get_int("seed"));
    const std::vector<double> steps = number_list(args.get("steps"), "--steps");
    LIPAR_CHECK(!steps.empty(), StatusCode::InvalidArgument, "--steps needs at least one step");

    // Refuse what would fail late, cheapest first: the data paths, the tokenizer file, the
    // output folders; then load the tokenizer (a library) and decode the data.
    train::DatasetOptions dopt;
    dopt.inputs = split_list(args.get("data"));
    for (const auto& input : dopt.inputs)
        LIPAR_CHECK(fs::exists(input), StatusCode::NotFound, "training data '", input, "' does not exist");
    LIPAR_CHECK(fs::is_regular_file(args.get("tokenizer")), StatusCode::NotFound, "tokenizer '",
                args.get("tokenizer"), "' does not exist");
    train::ensure_writable_dir(work, "checkpoint");
    train::ensure_writable_dir(fs::absolute(out).parent_path().string(), "output");
    model::Tokenizer tokenizer(args.get("tokenizer"));
    dopt.holdout = split_list(args.get("holdout"));
    dopt.short_side = static_cast<int>(args.get_int("short-side"));
    dopt.max_frames_per_video = args.get_int("max-frames");
    dopt.device = device;
    auto data = train::VideoDataset::load(dopt);
    std::cout << "training data (" << data.videos() << " videos, " << data.stills() << " stills, "
              << data.frames(train::Split::Train) << " training frames, "
              << data.frames(train::Split::Eval) << " held-out frames):\n"
              << data.describe() << std::flush;

    const auto options = torch::TensorOptions().device(device).dtype(torch::kFloat32);
    if (device.is_cuda()) {
        at::globalContext().setAllowTF32CuBLAS(true);
        at::globalContext().setAllowTF32CuDNN(true);
    }
    torch::manual_seed(seed);
    auto ae = std::make_shared<model::Taehv>(model::TaehvConfig::nano(), options);
    {
        torch::NoGradGuard no_grad;
        model::randomize_parameters(*ae, seed + 11);
    }
    train::AutoencoderTrainOptions ao;
    ao.steps = args.get_int("ae-steps");
    ao.batch = args.get_int("ae-batch");
    ao.height = height;
    ao.width = width;
    ao.seed = seed;
    ao.checkpoint_dir = work;
    ao.checkpoint_every = args.get_int("checkpoint-every");
    if (stage == "all" || stage == "autoencoder") {
        train::train_autoencoder(*ae, data, ao, print_progress);
    } else {
        train::StageCheckpoint ck{work, "autoencoder"};
        LIPAR_CHECK(fs::is_regular_file(ck.weights_path()), StatusCode::NotFound,
                    "--stage editor needs a trained autoencoder in ", ck.weights_path());
        io::apply_weights(*ae, io::read_safetensors(ck.weights_path()));
        ae->eval();
    }
    const auto rec = train::evaluate_autoencoder(*ae, data, 8, 16, height, width, seed + 99);
    std::cout << std::fixed << std::setprecision(2) << "autoencoder on held-out clips: "
              << rec.psnr_db << " dB (stylized " << rec.stylized_psnr_db << " dB), latents mean "
              << rec.latent_mean << " std " << rec.latent_std << std::defaultfloat << std::endl;
    if (stage == "autoencoder") return 0;

    auto dit_config = model::DitConfig::by_name(args.get("dit"));
    model::Umt5Config text_config;
    text_config.vocab_size = tokenizer.vocab_size();
    text_config.d_model = dit_config.text_dim;
    text_config.num_heads = 4;
    text_config.d_kv = dit_config.text_dim / 4;
    text_config.num_layers = args.get_int("text-layers");
    text_config.d_ff = 3 * dit_config.text_dim;
    train::EditorModules modules(dit_config, text_config, options, seed + 21);
    train::EditorTrainOptions eo;
    eo.steps = args.get_int("editor-steps");
    eo.batch = args.get_int("editor-batch");
    eo.blocks = args.get_int("blocks");
    eo.height = height;
    eo.width = width;
    eo.schedule_steps = steps;
    eo.text_len = dit_config.text_len;
    eo.seed = seed;
    eo.checkpoint_dir = work;
    eo.checkpoint_every = args.get_int("checkpoint-every");
    eo.bf16_attention = args.get("attention") == "bf16";
    eo.profile = args.flag_set("profile");
    std::cout << "editor: DiT " << dit_config.describe() << "; text encoder "
              << text_config.to_string() << std::endl;
    train::train_editor(modules, *ae, tokenizer, data, eo, print_progress);

    std::ostringstream card;
    card << "# Nano: LIPAR Studio's own editing model\n\n"
         << "Trained by `lipar train` (seed " << seed << ") on " << data.videos() << " clips and "
         << data.stills() << " still images; held out for evaluation: "
         << (dopt.holdout.empty() ? std::string("the last 20% of every clip")
                                  : joined(dopt.holdout) + " and the last 20% of every other clip")
         << ".\n\nStyles (prompts): ";
    std::vector<std::string> names;
    for (const auto& s : train::style_catalog()) names.push_back(s.name);
    card << joined(names) << ". A prompt that names no style keeps the video as it is.\n\n"
         << "Autoencoder reconstruction on held-out clips: " << std::fixed << std::setprecision(2)
         << rec.psnr_db << " dB (stylized frames " << rec.stylized_psnr_db << " dB).\n\n"
         << "Training: autoencoder " << ao.steps << " steps x " << ao.batch << " clips of "
         << ao.frames << " frames; editor " << eo.steps << " steps x " << eo.batch << " clips of "
         << eo.blocks * 3 * 4 << " frames at " << width << "x" << height << ".\n\n"
         << "Quality and speed: see docs/QUALITY.md and docs/PERF.md.\n";
    train::NanoPackContent content;
    content.out = out;
    content.tokenizer = args.get("tokenizer");
    content.model_card = card.str();
    content.steps = steps;
    content.text_len = dit_config.text_len;
    content.width = static_cast<int>(width);
    content.height = static_cast<int>(height);
    train::write_nano_pack(content, *ae, *modules);
    std::cout << "wrote " << out << std::endl;
    return 0;
}

}  // namespace lipar::cli
