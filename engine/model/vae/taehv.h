#pragma once
// TAEHV (taew2_1 layout): a tiny causal video autoencoder working directly in Wan 2.1's
// normalized latent space. 8x spatial and 4x temporal ratio; pixels RGB in [0, 1]; NTCHW.
// Parameter names match the published file: "encoder.{i}...", "decoder.{i}...".
//
// Batch:     encode(x [N, T, 3, H, W]) pads T to a multiple of 4 with copies of the last frame and
//            returns [N, ceil(T/4), 16, H/8, W/8]; decode(z [N, K, 16, h, w]) returns
//            [N, 4K - 3, 3, 8h, 8w] (the decoder's first 3 frames are dropped, as the reference).
// Streaming: encode_step / decode_step take any number of new frames / latents and return what
//            is complete so far; the state holds each MemBlock's last input and any partial TPool
//            group. Concatenating every step's output (plus encode_flush) equals the batch result.
//
// Compute runs in the module's device and dtype; inputs are converted, outputs stay in them.
// Not thread-safe: one thread uses a model and its states at a time. A state belongs to one
// stream: reset() it (or use a new one) to start another.

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "io/tensor_map.h"
#include "model/vae/tae_layers.h"

namespace lipar::model {

// One stage of the encoder (TPool, stride-2 conv, MemBlocks) or decoder (MemBlocks, 2x upsample,
// TGrow, conv to the next width).
struct TaeStageSpec {
    int64_t width = 64;   // channels of the stage's MemBlocks
    int64_t blocks = 3;   // MemBlocks
    int64_t time = 1;     // temporal stride: TPool (encoder) or TGrow (decoder) factor
    bool space = true;    // halves (encoder) or doubles (decoder) the resolution
};

// The layer layout. The defaults are taew2_1's; LIPAR's own Nano autoencoder (nano()) folds 4x4
// pixels into channels first (pixel unshuffle / shuffle around the stacks, as TAEHV's patched
// variants do), so that no convolution runs at full resolution, and uses fewer, narrower stages.
struct TaehvConfig {
    int64_t latent_channels = 16;
    int64_t patch = 1;                  // pixel (un)shuffle factor at the image ends
    int64_t encoder_input_width = 64;   // channels of the first conv
    std::vector<TaeStageSpec> encoder = {{64, 3, 2, true}, {64, 3, 2, true}, {64, 3, 1, true}};
    std::vector<TaeStageSpec> decoder = {{256, 3, 1, true}, {128, 3, 2, true}, {64, 3, 2, true}};
    int64_t decoder_output_width = 64;  // channels before the last conv to pixels
    // Decoded frames withheld at the start of a stream: taew2_1 mirrors Wan's VAE (the first
    // latent stands for one frame) and drops 3; -1 means temporal_ratio - 1.
    int64_t frames_to_trim = -1;

    int64_t temporal_ratio() const;  // 4 for taew2_1
    int64_t spatial_ratio() const;   // 8 for taew2_1
    int64_t trim() const { return frames_to_trim < 0 ? temporal_ratio() - 1 : frames_to_trim; }
    bool is_default_layout() const;  // taew2_1's layout (any latent channel count)
    void validate() const;           // Error(InvalidArgument) naming the bad field

    // JSON kept in the safetensors metadata under "lipar.taehv" so a file describes its layout.
    std::string to_json() const;
    static TaehvConfig from_json(const std::string& json);
    // LIPAR's Nano autoencoder: patch 4, one encoder stage per 2x in time, ~1 GFLOP per frame.
    static TaehvConfig nano();
};

// State of one streaming encode: per layer, the MemBlock's previous input or the TPool's frames
// waiting for a full group; plus the last input frame for encode_flush's padding.
class TaehvEncoderState {
  public:
    void reset();
    int64_t frames_in() const { return m_frames_in; }      // frames given so far
    int64_t latents_out() const { return m_latents_out; }  // latents returned so far

  private:
    friend class Taehv;
    std::vector<torch::Tensor> m_layer_state;
    torch::Tensor m_last_frame;  // [N, 1, 3, H, W]
    int64_t m_frames_in = 0;
    int64_t m_latents_out = 0;
};

class TaehvDecoderState {
  public:
    void reset();
    int64_t latents_in() const { return m_latents_in; }
    int64_t frames_out() const { return m_frames_out; }  // frames returned so far (after the trim)

  private:
    friend class Taehv;
    std::vector<torch::Tensor> m_layer_state;
    torch::Tensor m_last_latent;  // [N, 1, C, h, w], to check that a stream keeps its shape
    int64_t m_latents_in = 0;
    int64_t m_frames_out = 0;
    int64_t m_frames_trimmed = 0;
};

class Taehv : public torch::nn::Module {
  public:
    explicit Taehv(const TaehvConfig& config, const torch::TensorOptions& options);

    // Seeded random weights, generated on the CPU so every device and dtype gets the same values.
    static std::shared_ptr<Taehv> random(uint64_t seed,
                                         const torch::TensorOptions& options,
                                         const TaehvConfig& config = {});
    // .pth or .safetensors (taew2_1, or any layout whose safetensors metadata carries
    // "lipar.taehv"). Checks every tensor's name and shape.
    static std::shared_ptr<Taehv> load(const std::string& path,
                                       const torch::TensorOptions& options);
    // Applies published weights (`source` names them in errors). A TGrow weight with more output
    // channels than the layer has is cut to its last ones, as the reference does.
    void load_weights(io::TensorMap weights, const std::string& source);

    torch::Tensor encode(const torch::Tensor& x);  // [N, T, 3, H, W] -> [N, ceil(T/4), 16, h, w]
    torch::Tensor decode(const torch::Tensor& z);  // [N, K, 16, h, w] -> [N, 4K-3, 3, 8h, 8w]
    // Writes the weights (in `dtype`) and the layout metadata to a safetensors file.
    void save(const std::string& path, torch::Dtype dtype = torch::kFloat32) const;

    // In training mode (train()), encode/decode and the step functions record autograd history;
    // in eval mode (the default after construction and loading) they run without it.

    // x: [N, t, 3, H, W] with t >= 0 -> the latents completed by these frames [N, t', 16, h, w]
    // (t' may be 0). N, H and W must stay the same within one stream.
    torch::Tensor encode_step(TaehvEncoderState& state, const torch::Tensor& x);
    // Ends a stream: pads with copies of the last frame to a multiple of 4 frames and returns the
    // remaining latents (none when the count was already a multiple). The state is then reset.
    torch::Tensor encode_flush(TaehvEncoderState& state);
    // z: [N, k, 16, h, w] with k >= 0 -> the frames these latents complete [N, t, 3, 8h, 8w]:
    // 4k frames, less the first 3 of the stream.
    torch::Tensor decode_step(TaehvDecoderState& state, const torch::Tensor& z);

    const TaehvConfig& config() const { return m_config; }
    const torch::TensorOptions& options() const { return m_options; }
    int64_t latent_channels() const { return m_config.latent_channels; }
    int64_t temporal_ratio() const { return m_config.temporal_ratio(); }
    int64_t frames_to_trim() const { return m_config.trim(); }
    int64_t spatial_ratio() const { return m_config.spatial_ratio(); }

    TaeStack& encoder() { return *m_encoder; }
    TaeStack& decoder() { return *m_decoder; }

  private:
    // Runs [N, t, C, H, W] through a stack; returns undefined when no frame came out.
    torch::Tensor run_stack(TaeStack& stack,
                            std::vector<torch::Tensor>& layer_state,
                            torch::Tensor x);

    TaehvConfig m_config;
    torch::TensorOptions m_options;
    std::shared_ptr<TaeStack> m_encoder;
    std::shared_ptr<TaeStack> m_decoder;
};

}  // namespace lipar::model
