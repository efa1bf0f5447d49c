#include "train/editor_trainer.h"

#include <map>

#include "core/error.h"
#include "core/log.h"
#include "model/common/attention.h"
#include "model/text/prompt_encoder.h"
#include "pipeline/flow_schedule.h"
#include "train/prompts.h"
#include "train/styles.h"

namespace lipar::train {

EditorModulesImpl::EditorModulesImpl(const model::DitConfig& dit_config,
                                     const model::Umt5Config& text_config,
                                     const torch::TensorOptions& options, uint64_t seed) {
    dit = register_module("dit", model::WanDit(dit_config, options));
    model::init_random_weights(*dit, seed);
    {
        // Start as the identity edit: no flow (x0 = x_t) and no time-dependent modulation.
        torch::NoGradGuard no_grad;
        dit->head->head->weight.zero_();
        dit->head->head->bias.zero_();
        auto& proj = *dit->time_projection[1]->as<torch::nn::LinearImpl>();
        proj.weight.mul_(0.1);
        proj.bias.zero_();
    }
    text = register_module("text", model::make_random_umt5(text_config, options, seed + 1));
    // The UMT5 module holds its weights without gradients (inference never needs them); trained
    // jointly, every one of them learns.
    for (auto& p : text->parameters()) p.set_requires_grad(true);
}

torch::Tensor text_context(model::Umt5EncoderImpl& text, const model::Tokenizer& tokenizer,
                           const std::vector<std::string>& prompts, int64_t text_len) {
    std::vector<torch::Tensor> ids, masks;
    for (const auto& p : prompts) {
        auto t = tokenizer.tokenize(p, text_len);
        ids.push_back(t.ids);
        masks.push_back(t.mask);
    }
    auto id = torch::stack(ids).to(text.device());
    auto mask = torch::stack(masks).to(text.device());
    auto hidden = text.forward(id, mask);
    return model::zero_padding_rows(hidden, mask).to(torch::kFloat32);
}

namespace {

struct BlockNoise {
    double t = 0, sigma = 0;
    bool from_source = true;
};

// The first step of a block starts from the source, at about the pack's first step; later steps
// from the re-noised estimate at a lower level. The two ranges do not overlap, so the timestep
// tells the model which input it has.
BlockNoise draw_noise(std::mt19937_64& rng, const pipeline::FlowSchedule& schedule,
                      const std::vector<double>& steps) {
    std::uniform_real_distribution<double> u(0, 1);
    const double first = steps.front();
    const double last = steps.size() > 1 ? steps.back() : first * 0.3;
    BlockNoise n;
    n.from_source = steps.size() == 1 || u(rng) < 0.6;
    const double lo = n.from_source ? std::max(1.0, std::floor(first * 0.6)) : 1.0;
    const double hi = n.from_source ? std::min(999.0, std::ceil(first * 1.7))
                                    : std::max(1.0, std::floor(first * 0.6) - 1.0);
    double s = std::round(lo + (hi - lo) * u(rng));
    if (!n.from_source && u(rng) < 0.5) s = last;  // the pack's own later step, often
    if (n.from_source && u(rng) < 0.5) s = first;
    n.t = schedule.warp(s);
    n.sigma = schedule.sigma(n.t);
    return n;
}

}  // namespace

void train_editor(EditorModules& modules, model::Taehv& autoencoder,
                  const model::Tokenizer& tokenizer, const VideoDataset& data,
                  const EditorTrainOptions& o, const ProgressFn& progress) {
    auto& dit = *modules->dit;
    const auto& cfg = dit.config();
    const int64_t ratio = autoencoder.temporal_ratio();
    const int64_t latent_frames = o.blocks * o.frames_per_block;
    const int64_t video_frames = latent_frames * ratio;
    const int64_t gh = o.height / autoencoder.spatial_ratio() / cfg.patch[1];
    const int64_t gw = o.width / autoencoder.spatial_ratio() / cfg.patch[2];
    LIPAR_CHECK(gh > 0 && gw > 0, StatusCode::InvalidArgument, "training size too small");
    const int64_t tokens_per_frame = gh * gw;
    pipeline::FlowSchedule schedule(o.shift);
    const auto device = dit.device();

    torch::optim::AdamW opt(modules->parameters(),
                            torch::optim::AdamWOptions(o.lr).betas({0.9, 0.99}).weight_decay(0.01));
    StageCheckpoint ckpt{o.checkpoint_dir, "editor"};
    int64_t start = 0;
    if (!o.checkpoint_dir.empty() && ckpt.exists()) {
        start = ckpt.load(*modules, opt);
        LIPAR_LOG_INFO("editor: resuming at step ", start);
    }
    autoencoder.eval();
    modules->train();
    std::map<int64_t, torch::Tensor> masks;  // per recent-window size
    PromptSampler prompts(o.seed);
    const auto& catalog = style_catalog();
    ProgressMeter meter("editor", o.steps, start, progress, o.report_every);
    PhaseTimer phases(o.profile, device);
    meter.set_detail([&phases] { return phases.summary_and_reset(); });
    c10::optional<model::AttentionPrecisionScope> low_precision;
    if (o.bf16_attention && device.is_cuda()) low_precision.emplace(torch::kBFloat16);
    double lr = o.lr;
    for (int64_t step = start; step < o.steps; ++step) {
        phases.start();
        std::mt19937_64 rng(o.seed * 15485863u + static_cast<uint64_t>(step));
        torch::manual_seed(o.seed * 32452843u + static_cast<uint64_t>(step));
        lr = learning_rate(o.lr, step, o.steps, std::min<int64_t>(300, o.steps / 10 + 1));
        set_learning_rate(opt, lr);
        std::uniform_real_distribution<double> u(0, 1);

        // Clips, styles and prompts.
        auto clips = data.batch(rng, o.batch, video_frames, o.height, o.width);
        std::vector<torch::Tensor> targets;
        std::vector<std::string> texts;
        for (int64_t b = 0; b < o.batch; ++b) {
            const Style style = u(rng) < o.original_fraction
                                    ? Style::Original
                                    : catalog[std::uniform_int_distribution<size_t>(
                                                  0, catalog.size() - 1)(rng)]
                                          .style;
            targets.push_back(apply_style(style, clips[b]));
            texts.push_back(prompts.sample(style).text);
        }
        phases.mark("data+styles");
        torch::Tensor z_src, z_tgt;
        {
            torch::NoGradGuard no_grad;
            // [B, F, C, h, w] -> [B, C, F, h, w]
            z_src = autoencoder.encode(clips).to(torch::kFloat32).permute({0, 2, 1, 3, 4});
            z_tgt = autoencoder.encode(torch::stack(targets)).to(torch::kFloat32).permute({0, 2, 1, 3, 4});
        }
        phases.mark("encode");
        auto context = text_context(*modules->text, tokenizer, texts, o.text_len);
        phases.mark("text");

        // Noisy half: each block at its own level, from the source or the target.
        std::vector<torch::Tensor> noisy_blocks;
        std::vector<double> t_row(static_cast<size_t>(2 * latent_frames), 0.0);
        std::vector<torch::Tensor> sigma_frames;
        for (int64_t k = 0; k < o.blocks; ++k) {
            const auto n = draw_noise(rng, schedule, o.schedule_steps);
            auto clean = (n.from_source ? z_src : z_tgt).narrow(2, k * o.frames_per_block, o.frames_per_block);
            noisy_blocks.push_back(clean * (1.0 - n.sigma) + torch::randn_like(clean) * n.sigma);
            for (int64_t f = 0; f < o.frames_per_block; ++f) {
                t_row[static_cast<size_t>(latent_frames + k * o.frames_per_block + f)] = n.t;
                sigma_frames.push_back(torch::full({1}, n.sigma, z_src.options()));
            }
        }
        auto noisy = torch::cat(noisy_blocks, 2);
        auto context_latents = z_tgt + 0.02 * torch::randn_like(z_tgt);
        auto x = torch::cat({context_latents, noisy}, 2);
        auto t = torch::tensor(t_row, torch::TensorOptions(torch::kFloat64))
                     .to(device)
                     .unsqueeze(0)
                     .expand({o.batch, 2 * latent_frames})
                     .contiguous();

        // Window and RoPE positions.
        const int64_t recent = o.recent_frames[std::uniform_int_distribution<size_t>(
            0, o.recent_frames.size() - 1)(rng)];
        auto& mask = masks[recent];
        if (!mask.defined()) {
            mask = model::teacher_forcing_mask(latent_frames, o.frames_per_block, tokens_per_frame,
                                               model::KvWindow{1, recent})
                       .to(device);
        }
        const int64_t offset = u(rng) < 0.5 ? std::uniform_int_distribution<int64_t>(1, 240)(rng) : 0;
        model::DenseOptions dense;
        for (int half = 0; half < 2; ++half) {
            for (int64_t f = 0; f < latent_frames; ++f)
                dense.frame_positions.push_back(f < o.frames_per_block ? f : f + offset);
        }
        dense.mask = mask;

        auto flow = dit.forward(x, t, context, dense).narrow(2, latent_frames, latent_frames);
        auto sigma = torch::cat(sigma_frames).view({1, 1, latent_frames, 1, 1});
        auto x0 = noisy - sigma * flow;
        auto err = (x0 - z_tgt).pow(2).mean(std::vector<int64_t>{0, 1, 3, 4});  // per frame
        auto weight = torch::ones({latent_frames}, err.options());
        if (offset > 0 && o.blocks > 1) {
            // Block 1 then sees the sink and block 0 far behind its own position, unlike any
            // stream at inference: it trains nothing.
            weight.narrow(0, o.frames_per_block, o.frames_per_block).zero_();
        }
        auto loss = (err * weight).sum() / weight.sum();
        phases.mark("forward");
        opt.zero_grad();
        loss.backward();
        phases.mark("backward");
        torch::nn::utils::clip_grad_norm_(modules->parameters(), 1.0);
        opt.step();
        const double loss_value = loss.item<double>();
        phases.mark("optimizer");
        meter.add(step + 1, loss_value, o.batch, lr);
        if (!o.checkpoint_dir.empty() &&
            ((step + 1) % o.checkpoint_every == 0 || step + 1 == o.steps))
            ckpt.save(*modules, opt, step + 1);
    }
    meter.finish(o.steps, lr);
    modules->eval();
}

}  // namespace lipar::train
