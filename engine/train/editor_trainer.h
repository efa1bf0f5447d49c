#pragma once
// Trains the Nano editor: a small Wan-architecture causal DiT and a small UMT5 text encoder over a
// SentencePiece tokenizer, jointly, to turn clips into their stylizations (train/styles.h) as the
// prompt asks, with the engine's own modules (model/dit, model/text) and its own conventions:
//
// - block-causal teacher forcing: one sequence holds the clean target latents of every frame and
//   the noisy latents of every frame; the attention mask (model::teacher_forcing_mask) lets each
//   noisy block see itself and the clean frames the KV cache would hold when it runs (sink plus
//   the most recent frames), and each clean block see the same plus itself, as the t = 0 pass that
//   commits the cache does at inference;
// - the editor's schedule: the first denoising step starts from the *source* latents noised to the
//   pack's first warped step (SDEdit), later steps from the re-noised estimate (here the target,
//   noised to a later step's level); the model predicts flow and the loss is on x0 = x_t - sigma v;
// - RoPE frame positions: block 0 at the start of the stream, later blocks optionally far from
//   the sink frame, as after minutes of streaming.
//
// The autoencoder is trained first (autoencoder_trainer.h) and frozen here.

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"
#include "model/text/tokenizer.h"
#include "model/text/umt5.h"
#include "model/vae/taehv.h"
#include "train/trainer_state.h"
#include "train/video_data.h"

namespace lipar::train {

// The DiT and the text encoder as one module (one optimizer, one checkpoint).
class EditorModulesImpl : public torch::nn::Module {
public:
    EditorModulesImpl(const model::DitConfig& dit_config, const model::Umt5Config& text_config,
                      const torch::TensorOptions& options, uint64_t seed);
    model::WanDit dit{nullptr};
    model::Umt5Encoder text{nullptr};
};
TORCH_MODULE(EditorModules);

struct EditorTrainOptions {
    int64_t steps = 6000;
    int64_t batch = 8;
    int64_t blocks = 4;           // blocks per training clip
    int64_t frames_per_block = 3;  // latent frames
    int64_t height = 192, width = 320;
    double lr = 4e-4;
    std::vector<double> schedule_steps = {60, 20};  // the pack's warped step list
    double shift = 5.0;
    std::vector<int64_t> recent_frames = {3, 4, 5, 6};  // KV windows trained (sink 1)
    int64_t text_len = 24;
    double original_fraction = 0.15;  // extra share of identity prompts
    uint64_t seed = 0;
    std::string checkpoint_dir;
    int64_t checkpoint_every = 500;
    int64_t report_every = 50;  // steps between progress reports
    // On CUDA, self-attention runs in bfloat16 (model::AttentionPrecisionScope) so that
    // tensor-core kernels serve it; the modules, their gradients and the optimizer stay float32.
    bool bf16_attention = true;
    bool profile = false;  // phase times in each progress report (train/trainer_state.h)
};

// Trains `modules` against the frozen `autoencoder`. Resumes from options.checkpoint_dir.
void train_editor(EditorModules& modules, model::Taehv& autoencoder,
                  const model::Tokenizer& tokenizer, const VideoDataset& data,
                  const EditorTrainOptions& options, const ProgressFn& progress);

// The text context the DiT sees for tokenized prompts: the encoder's hidden states with the rows
// of padding positions zeroed, [B, text_len, d_model] float32.
torch::Tensor text_context(model::Umt5EncoderImpl& text, const model::Tokenizer& tokenizer,
                           const std::vector<std::string>& prompts, int64_t text_len);

}  // namespace lipar::train
