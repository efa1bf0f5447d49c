#include "model/vae/autoencoder.h"

#include <algorithm>
#include <cctype>

#include "core/device.h"
#include "core/error.h"
#include "model/vae/taehv.h"
#include "model/vae/taesd.h"

namespace lipar::model {

namespace {

void check_frames(const torch::Tensor& frames, const char* what) {
    LIPAR_CHECK(
        frames.defined() && frames.dim() == 4, StatusCode::ShapeMismatch, what,
        ": expected [T, C, H, W], got ",
        frames.defined() ? shape_string(frames.sizes()) : std::string("an undefined tensor"));
}

class TaesdVideoAutoencoder : public VideoAutoencoder {
  public:
    explicit TaesdVideoAutoencoder(std::shared_ptr<TinyImageAutoencoder> model)
        : m_model(std::move(model)) {}

    AutoencoderKind kind() const override { return AutoencoderKind::Taesd; }
    std::unique_ptr<VideoAutoencoder> new_stream() const override {
        return make_video_autoencoder(m_model);
    }
    int64_t latent_channels() const override { return m_model->latent_channels(); }
    int64_t temporal_ratio() const override { return 1; }
    bool can_encode() const override { return m_model->has_encoder(); }
    bool can_decode() const override { return m_model->has_decoder(); }
    torch::TensorOptions options() const override { return m_model->options(); }
    void reset_encoder() override { m_last_latent_hw.reset(); }
    void reset_decoder() override {}

    torch::Tensor encode_frames(const torch::Tensor& frames) override {
        check_frames(frames, "TAESD encode");
        if (frames.size(0) == 0) {
            return torch::empty({0, latent_channels(), frames.size(2) / 8, frames.size(3) / 8},
                                options());
        }
        auto z = m_model->encode(frames);
        m_last_latent_hw = std::make_pair(z.size(2), z.size(3));
        return z;
    }

    torch::Tensor flush_encoder() override {
        const auto hw = m_last_latent_hw.value_or(std::make_pair<int64_t, int64_t>(0, 0));
        m_last_latent_hw.reset();
        return torch::empty({0, latent_channels(), hw.first, hw.second}, options());
    }

    torch::Tensor decode_latents(const torch::Tensor& latents) override {
        check_frames(latents, "TAESD decode");
        if (latents.size(0) == 0) {
            return torch::empty({0, 3, latents.size(2) * 8, latents.size(3) * 8}, options());
        }
        return m_model->decode(latents);
    }

  private:
    std::shared_ptr<TinyImageAutoencoder> m_model;
    std::optional<std::pair<int64_t, int64_t>> m_last_latent_hw;
};

class TaehvVideoAutoencoder : public VideoAutoencoder {
  public:
    explicit TaehvVideoAutoencoder(std::shared_ptr<Taehv> model) : m_model(std::move(model)) {}

    AutoencoderKind kind() const override { return AutoencoderKind::Taehv; }
    std::unique_ptr<VideoAutoencoder> new_stream() const override {
        return make_video_autoencoder(m_model);
    }
    int64_t latent_channels() const override { return m_model->latent_channels(); }
    int64_t temporal_ratio() const override { return m_model->temporal_ratio(); }
    int64_t spatial_ratio() const override { return m_model->spatial_ratio(); }
    int64_t decoder_frames_to_trim() const override { return m_model->frames_to_trim(); }
    bool can_encode() const override { return true; }
    bool can_decode() const override { return true; }
    torch::TensorOptions options() const override { return m_model->options(); }
    void reset_encoder() override { m_encoder.reset(); }
    void reset_decoder() override { m_decoder.reset(); }

    torch::Tensor encode_frames(const torch::Tensor& frames) override {
        check_frames(frames, "TAEHV encode");
        return m_model->encode_step(m_encoder, frames.unsqueeze(0)).squeeze(0);
    }

    torch::Tensor flush_encoder() override {
        auto z = m_model->encode_flush(m_encoder);
        return z.size(0) == 0
                   ? torch::empty({0, latent_channels(), z.size(3), z.size(4)}, options())
                   : z.squeeze(0);
    }

    torch::Tensor decode_latents(const torch::Tensor& latents) override {
        check_frames(latents, "TAEHV decode");
        return m_model->decode_step(m_decoder, latents.unsqueeze(0)).squeeze(0);
    }

  private:
    std::shared_ptr<Taehv> m_model;
    TaehvEncoderState m_encoder;
    TaehvDecoderState m_decoder;
};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

}  // namespace

AutoencoderKind parse_autoencoder_kind(const std::string& name_in) {
    const std::string name = lower(name_in);
    for (const char* n : {"taesd", "taesdxl", "taesd3", "taef1", "taef2"}) {
        if (name == n)
            return AutoencoderKind::Taesd;
    }
    if (name == "taehv" || name == "taew2_1" || name == "taew2.1")
        return AutoencoderKind::Taehv;
    fail(StatusCode::InvalidArgument, "unknown autoencoder kind '", name_in,
         "' (expected taesd, taef2, ... or taehv)");
}

const char* autoencoder_kind_name(AutoencoderKind kind) {
    switch (kind) {
        case AutoencoderKind::Taesd:
            return "taesd";
        case AutoencoderKind::Taehv:
            return "taehv";
        default:
            return "invalid";
    }
}

std::unique_ptr<VideoAutoencoder> make_video_autoencoder(std::shared_ptr<TinyImageAutoencoder> m) {
    LIPAR_CHECK(m != nullptr, StatusCode::InvalidArgument, "no TAESD model given");
    return std::make_unique<TaesdVideoAutoencoder>(std::move(m));
}

std::unique_ptr<VideoAutoencoder> make_video_autoencoder(std::shared_ptr<Taehv> m) {
    LIPAR_CHECK(m != nullptr, StatusCode::InvalidArgument, "no TAEHV model given");
    return std::make_unique<TaehvVideoAutoencoder>(std::move(m));
}

std::unique_ptr<VideoAutoencoder> load_autoencoder(AutoencoderKind kind,
                                                   const std::string& encoder_path,
                                                   const std::string& decoder_path,
                                                   const torch::TensorOptions& options) {
    switch (kind) {
        case AutoencoderKind::Taesd:
            return make_video_autoencoder(std::shared_ptr<TinyImageAutoencoder>(
                TinyImageAutoencoder::load(encoder_path, decoder_path, options)));
        case AutoencoderKind::Taehv: {
            LIPAR_CHECK(!encoder_path.empty() || !decoder_path.empty(), StatusCode::InvalidArgument,
                        "TAEHV: no weights file given");
            LIPAR_CHECK(
                encoder_path.empty() || decoder_path.empty() || encoder_path == decoder_path,
                StatusCode::InvalidArgument,
                "TAEHV keeps encoder and decoder in one file; got two: ", encoder_path, " and ",
                decoder_path);
            return make_video_autoencoder(
                Taehv::load(encoder_path.empty() ? decoder_path : encoder_path, options));
        }
        default:
            break;
    }
    fail(StatusCode::InvalidArgument, "load_autoencoder: invalid autoencoder kind");
}

std::unique_ptr<VideoAutoencoder> load_autoencoder(const std::string& kind,
                                                   const std::string& encoder_path,
                                                   const std::string& decoder_path,
                                                   const torch::TensorOptions& options) {
    return load_autoencoder(parse_autoencoder_kind(kind), encoder_path, decoder_path, options);
}

std::unique_ptr<VideoAutoencoder> random_autoencoder(AutoencoderKind kind,
                                                     uint64_t seed,
                                                     const torch::TensorOptions& options,
                                                     int64_t latent_channels) {
    switch (kind) {
        case AutoencoderKind::Taesd: {
            TaesdConfig config;
            config.latent_channels = latent_channels;
            return make_video_autoencoder(std::shared_ptr<TinyImageAutoencoder>(
                TinyImageAutoencoder::random(config, seed, options)));
        }
        case AutoencoderKind::Taehv: {
            TaehvConfig config;
            config.latent_channels = latent_channels;
            return make_video_autoencoder(Taehv::random(seed, options, config));
        }
        default:
            break;
    }
    fail(StatusCode::InvalidArgument, "random_autoencoder: invalid autoencoder kind");
}

}  // namespace lipar::model
