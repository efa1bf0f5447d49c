#include "train/autoencoder_trainer.h"

#include <cmath>

#include "core/error.h"
#include "core/log.h"
#include "train/styles.h"

namespace lipar::train {

namespace {

// Stylizes a random half of the clips ([N, T, 3, H, W]) with random styles.
torch::Tensor stylize_some(std::mt19937_64& rng, const torch::Tensor& clips, double fraction) {
    const auto& catalog = style_catalog();
    std::uniform_real_distribution<double> u(0, 1);
    std::uniform_int_distribution<size_t> pick(1, catalog.size() - 1);
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < clips.size(0); ++i) {
        if (u(rng) < fraction) out.push_back(apply_style(catalog[pick(rng)].style, clips[i]));
        else out.push_back(clips[i]);
    }
    return torch::stack(out);
}

double psnr(const torch::Tensor& a, const torch::Tensor& b) {
    const double mse = (a.clamp(0, 1) - b).pow(2).mean().item<double>();
    return 10.0 * std::log10(1.0 / std::max(mse, 1e-10));
}

}  // namespace

void train_autoencoder(model::Taehv& model, const VideoDataset& data,
                       const AutoencoderTrainOptions& o, const ProgressFn& progress) {
    LIPAR_CHECK(o.frames % model.temporal_ratio() == 0, StatusCode::InvalidArgument,
                "autoencoder training clips need a multiple of ", model.temporal_ratio(), " frames");
    torch::optim::AdamW opt(model.parameters(),
                            torch::optim::AdamWOptions(o.lr).betas({0.9, 0.99}).weight_decay(1e-4));
    StageCheckpoint ckpt{o.checkpoint_dir, "autoencoder"};
    int64_t start = 0;
    if (!o.checkpoint_dir.empty() && ckpt.exists()) {
        start = ckpt.load(model, opt);
        LIPAR_LOG_INFO("autoencoder: resuming at step ", start);
    }
    model.train();
    ProgressMeter meter("autoencoder", o.steps, start, progress, o.report_every);
    const auto device = model.options().device();
    double lr = o.lr;
    for (int64_t step = start; step < o.steps; ++step) {
        // Every step's randomness derives from (seed, step): a resumed run repeats exactly.
        std::mt19937_64 rng(o.seed * 7919u + static_cast<uint64_t>(step));
        torch::manual_seed(o.seed * 104729u + static_cast<uint64_t>(step));
        lr = learning_rate(o.lr, step, o.steps, std::min<int64_t>(200, o.steps / 10 + 1));
        set_learning_rate(opt, lr);
        auto x = stylize_some(rng, data.batch(rng, o.batch, o.frames, o.height, o.width),
                              o.stylized_fraction);
        model::TaehvEncoderState enc;
        auto z = model.encode_step(enc, x);  // [N, K, C, h, w]
        auto sigma = torch::rand({z.size(0), 1, 1, 1, 1}, z.options()) * o.latent_noise;
        model::TaehvDecoderState dec;
        auto y = model.decode_step(dec, z + sigma * torch::randn_like(z));
        auto target = x.narrow(1, x.size(1) - y.size(1), y.size(1));
        auto diff = y - target;
        auto rec = diff.abs().mean() + diff.pow(2).mean();
        auto zc = z.transpose(0, 2).reshape({z.size(2), -1});  // [C, everything]
        auto reg = zc.mean(1).pow(2).mean() + (zc.std(1) - 1.0).pow(2).mean();
        auto loss = rec + 0.05 * reg;
        opt.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(model.parameters(), 1.0);
        opt.step();
        meter.add(step + 1, loss.item<double>(), o.batch, lr);
        if (!o.checkpoint_dir.empty() && ((step + 1) % o.checkpoint_every == 0 || step + 1 == o.steps))
            ckpt.save(model, opt, step + 1);
    }
    (void)device;
    meter.finish(o.steps, lr);
    model.eval();
}

ReconstructionReport evaluate_autoencoder(model::Taehv& model, const VideoDataset& data,
                                          int64_t clips, int64_t frames, int64_t height,
                                          int64_t width, uint64_t seed) {
    torch::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    std::mt19937_64 rng(seed);
    ReconstructionReport r;
    double psnr_sum = 0, psnr_style = 0, mean_sum = 0, std_sum = 0;
    const auto& catalog = style_catalog();
    for (int64_t i = 0; i < clips; ++i) {
        auto x = data.batch(rng, 1, frames, height, width, Split::Eval);
        auto styled = apply_style(catalog[1 + static_cast<size_t>(i) % (catalog.size() - 1)].style,
                                  x[0]).unsqueeze(0);
        for (int pass = 0; pass < 2; ++pass) {
            const auto& in = pass == 0 ? x : styled;
            auto z = model.encode(in);
            auto y = model.decode(z).to(torch::kFloat32);
            auto target = in.narrow(1, in.size(1) - y.size(1), y.size(1));
            (pass == 0 ? psnr_sum : psnr_style) += psnr(y, target);
            if (pass == 0) {
                mean_sum += z.to(torch::kFloat32).mean().item<double>();
                std_sum += z.to(torch::kFloat32).std().item<double>();
            }
        }
    }
    r.psnr_db = psnr_sum / double(clips);
    r.stylized_psnr_db = psnr_style / double(clips);
    r.latent_mean = mean_sum / double(clips);
    r.latent_std = std_sum / double(clips);
    if (was_training) model.train();
    return r;
}

}  // namespace lipar::train
