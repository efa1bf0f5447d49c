#pragma once
// Trains the Nano autoencoder (a TAEHV-layout causal video autoencoder, model/vae/taehv.h) to
// reconstruct clips and their stylizations: the editor decodes stylized latents, so the decoder
// must know those pictures too. Losses: L1 + MSE on pixels, plus a light penalty that keeps every
// latent channel near zero mean and unit variance (the scale the DiT and LIPAR's thresholds
// expect); the decoder sees slightly noisy latents so it tolerates the DiT's small errors.

#include <memory>
#include <random>

#include "model/vae/taehv.h"
#include "train/trainer_state.h"
#include "train/video_data.h"

namespace lipar::train {

struct AutoencoderTrainOptions {
    int64_t steps = 3000;
    int64_t batch = 16;
    int64_t frames = 16;  // per clip: 4 latents
    int64_t height = 192, width = 320;
    double lr = 1e-3;
    double stylized_fraction = 0.5;
    double latent_noise = 0.15;  // decoder input noise, uniform in [0, this] per clip
    uint64_t seed = 0;
    std::string checkpoint_dir;  // empty: no checkpoints
    int64_t checkpoint_every = 500;
    int64_t report_every = 50;  // steps between progress reports
};

struct ReconstructionReport {
    double psnr_db = 0;          // mean over the evaluation clips (original frames)
    double stylized_psnr_db = 0;
    double latent_mean = 0, latent_std = 0;
};

// Trains `model` (put in training mode while it runs, eval mode after). Resumes from the
// checkpoint in options.checkpoint_dir when there is one.
void train_autoencoder(model::Taehv& model, const VideoDataset& data,
                       const AutoencoderTrainOptions& options, const ProgressFn& progress);

// PSNR of reconstructions on the evaluation split (deterministic for a seed).
ReconstructionReport evaluate_autoencoder(model::Taehv& model, const VideoDataset& data,
                                          int64_t clips, int64_t frames, int64_t height,
                                          int64_t width, uint64_t seed);

}  // namespace lipar::train
