#pragma once
// TAESD family: per-frame tiny image autoencoders with 8x spatial downscaling (taesd, taesdxl,
// taef1, taesd3, and the FLUX.2 variant taef2 whose deepest Blocks carry a GroupNorm pool branch).
// Encoder and decoder are separate modules with separate published weight files; parameter names
// match them exactly ("0.weight", "1.conv.0.weight", "11.pool.1.bias", ...).
//
// Pixels are RGB in [0, 1] (not [-1, 1]); latents are the model's raw latents (scale factor 1).
// Compute runs in the modules' device and dtype; inputs are converted, outputs stay in them.
// Not thread-safe: one thread uses an instance at a time.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "io/tensor_map.h"
#include "model/vae/tae_layers.h"

namespace lipar::model {

enum class TaesdPart { Invalid = 0, Encoder, Decoder };

struct TaesdConfig {
    int64_t latent_channels = 4;  // 4 (SD/SDXL), 16 (FLUX.1, SD3), 32 (FLUX.2)
    bool midblock_pool = false;   // FLUX.2 (taef2): pool branch in the three deepest Blocks

    // Detects the configuration from either an encoder's or a decoder's weights. Throws
    // Error(FormatError) naming the file's role when the tensors are not a TAESD family part.
    static TaesdConfig from_weights(const io::TensorMap& weights);
    bool operator==(const TaesdConfig& o) const {
        return latent_channels == o.latent_channels && midblock_pool == o.midblock_pool;
    }
};

// Encoder or Decoder, from the tensor names (Invalid when neither fits).
TaesdPart detect_taesd_part(const io::TensorMap& weights);
const char* taesd_part_name(TaesdPart part);

class TaesdEncoder : public TaeStack {
  public:
    TaesdEncoder(const TaesdConfig& config, const torch::TensorOptions& options);
    // x: [N, 3, H, W] in [0, 1], H and W multiples of 8 -> [N, C, H/8, W/8].
    torch::Tensor forward(const torch::Tensor& x) const;
    const TaesdConfig& config() const { return m_config; }

  private:
    TaesdConfig m_config;
};

class TaesdDecoder : public TaeStack {
  public:
    TaesdDecoder(const TaesdConfig& config, const torch::TensorOptions& options);
    // z: [N, C, h, w] -> [N, 3, 8h, 8w] clamped to [0, 1].
    torch::Tensor forward(const torch::Tensor& z) const;
    const TaesdConfig& config() const { return m_config; }

  private:
    TaesdConfig m_config;
};

// Encoder and/or decoder of one TAESD model. Either part may be absent (then its direction
// throws Error(InvalidArgument)).
class TinyImageAutoencoder {
  public:
    TinyImageAutoencoder(std::shared_ptr<TaesdEncoder> encoder,
                         std::shared_ptr<TaesdDecoder> decoder);

    // Loads .pth or .safetensors files; either path may be empty but not both. Each file's role
    // is checked (a decoder file given as the encoder is an error naming a tensor), and shapes are
    // checked tensor by tensor.
    static std::unique_ptr<TinyImageAutoencoder> load(const std::string& encoder_path,
                                                      const std::string& decoder_path,
                                                      const torch::TensorOptions& options);
    // Both parts with seeded random weights (tests, random model packs).
    static std::unique_ptr<TinyImageAutoencoder> random(const TaesdConfig& config,
                                                        uint64_t seed,
                                                        const torch::TensorOptions& options);

    // x: [N, 3, H, W] in [0, 1] -> z: [N, C, H/8, W/8].
    torch::Tensor encode(const torch::Tensor& x) const;
    // z: [N, C, h, w] -> [N, 3, 8h, 8w] in [0, 1].
    torch::Tensor decode(const torch::Tensor& z) const;

    int64_t latent_channels() const { return m_config.latent_channels; }
    const TaesdConfig& config() const { return m_config; }
    const torch::TensorOptions& options() const { return m_options; }
    bool has_encoder() const { return m_encoder != nullptr; }
    bool has_decoder() const { return m_decoder != nullptr; }
    const std::shared_ptr<TaesdEncoder>& encoder() const { return m_encoder; }
    const std::shared_ptr<TaesdDecoder>& decoder() const { return m_decoder; }

  private:
    std::shared_ptr<TaesdEncoder> m_encoder;
    std::shared_ptr<TaesdDecoder> m_decoder;
    TaesdConfig m_config;
    torch::TensorOptions m_options;
};

// Applies published weights to a part, checking every name and shape (Error names the tensor
// and both shapes). `source` names the weights in messages (usually the file path).
void load_taesd_weights(TaeStack& part, const io::TensorMap& weights, const std::string& source);

}  // namespace lipar::model
