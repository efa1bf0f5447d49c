#pragma once
// One interface over the tiny autoencoders so that the editor pipeline can use either a per-frame
// TAESD-family model (temporal ratio 1) or the causal video model TAEHV (temporal ratio 4).
//
// Both directions are streams: encode_frames / decode_latents keep state across calls (TAEHV's
// memory and partial groups; nothing for TAESD), so a video may be fed in pieces of any size and
// the concatenated outputs equal one call on the whole video. reset() starts new streams.
//
// Frames are RGB [T, 3, H, W] in [0, 1] (H, W multiples of 8); latents [T', C, H/8, W/8]. Inputs
// are converted to the model's device and dtype; outputs are returned in them.
// Not thread-safe: one thread (the engine thread) uses an instance at a time.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

namespace lipar::model {

class TinyImageAutoencoder;
class Taehv;

enum class AutoencoderKind { Invalid = 0, Taesd, Taehv };

// "taesd" (also taesdxl, taesd3, taef1, taef2: any TAESD-family pair) or "taehv" (also taew2_1).
// Throws Error(InvalidArgument) for anything else.
AutoencoderKind parse_autoencoder_kind(const std::string& name);
const char* autoencoder_kind_name(AutoencoderKind kind);

class VideoAutoencoder {
  public:
    virtual ~VideoAutoencoder() = default;

    virtual AutoencoderKind kind() const = 0;
    virtual int64_t latent_channels() const = 0;
    virtual int64_t temporal_ratio() const = 0;  // frames per latent: 1 TAESD, 4 TAEHV
    virtual int64_t spatial_ratio() const { return 8; }
    // Frames the decoder withholds at the start of a stream (TAEHV: 3, so K latents give 4K-3).
    virtual int64_t decoder_frames_to_trim() const { return 0; }
    virtual bool can_encode() const = 0;
    virtual bool can_decode() const = 0;
    virtual torch::TensorOptions options() const = 0;

    virtual void reset_encoder() = 0;
    virtual void reset_decoder() = 0;
    void reset() {
        reset_encoder();
        reset_decoder();
    }
    // A second, independent stream over the same weights (compare mode decodes two streams).
    virtual std::unique_ptr<VideoAutoencoder> new_stream() const = 0;

    // frames [T, 3, H, W] (T >= 0) -> the latents these frames complete, [T', C, H/8, W/8].
    virtual torch::Tensor encode_frames(const torch::Tensor& frames) = 0;
    // Ends the encoder stream: pads a partial group with copies of the last frame and returns
    // the remaining latents ([0, C, h, w] when none). The encoder is then reset.
    virtual torch::Tensor flush_encoder() = 0;
    // latents [T', C, h, w] (T' >= 0) -> the frames they complete, [T, 3, 8h, 8w] in [0, 1].
    virtual torch::Tensor decode_latents(const torch::Tensor& latents) = 0;
};

// kind Taesd: encoder_path and/or decoder_path (separate files). kind Taehv: one file, given as
// either path (or both, the same). Errors name the file and the tensor at fault.
std::unique_ptr<VideoAutoencoder> load_autoencoder(AutoencoderKind kind,
                                                   const std::string& encoder_path,
                                                   const std::string& decoder_path,
                                                   const torch::TensorOptions& options);
std::unique_ptr<VideoAutoencoder> load_autoencoder(const std::string& kind,
                                                   const std::string& encoder_path,
                                                   const std::string& decoder_path,
                                                   const torch::TensorOptions& options);

// Seeded random weights (tests, random model packs).
std::unique_ptr<VideoAutoencoder> random_autoencoder(AutoencoderKind kind,
                                                     uint64_t seed,
                                                     const torch::TensorOptions& options,
                                                     int64_t latent_channels = 16);

// Adapters over already-built models (they share the model).
std::unique_ptr<VideoAutoencoder> make_video_autoencoder(std::shared_ptr<TinyImageAutoencoder> m);
std::unique_ptr<VideoAutoencoder> make_video_autoencoder(std::shared_ptr<Taehv> m);

}  // namespace lipar::model
