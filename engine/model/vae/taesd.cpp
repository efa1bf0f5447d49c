#include "model/vae/taesd.h"

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "io/checkpoint.h"
#include "io/weights.h"

namespace lipar::model {

namespace {

constexpr int64_t kWidth = 64;

const torch::Tensor* find(const io::TensorMap& weights, const std::string& name) {
    auto it = weights.find(name);
    return it == weights.end() ? nullptr : &it->second;
}

bool has_shape(const io::TensorMap& weights,
               const std::string& name,
               std::initializer_list<int64_t> shape) {
    const auto* t = find(weights, name);
    return t && t->sizes() == c10::IntArrayRef(shape);
}

std::string describe(const io::TensorMap& weights, const std::string& name) {
    const auto* t = find(weights, name);
    return t ? str_cat("'", name, "' ", shape_string(t->sizes())) : str_cat("no '", name, "'");
}

void check_frames(const torch::Tensor& x, const char* what) {
    LIPAR_CHECK(x.defined() && x.dim() == 4 && x.size(1) == 3, StatusCode::ShapeMismatch, what,
                ": expected RGB frames [N, 3, H, W], got ",
                x.defined() ? shape_string(x.sizes()) : std::string("an undefined tensor"));
    LIPAR_CHECK(x.size(2) % 8 == 0 && x.size(3) % 8 == 0 && x.size(2) > 0 && x.size(3) > 0,
                StatusCode::ShapeMismatch, what, ": frame size ", x.size(3), "x", x.size(2),
                " must be a non-zero multiple of 8 in both directions");
}

TaesdConfig checked_config(const io::TensorMap& weights,
                           TaesdPart expected,
                           const std::string& path) {
    const TaesdPart part = detect_taesd_part(weights);
    if (part != expected) {
        if (part == TaesdPart::Invalid) {
            fail(StatusCode::FormatError, path, ": not TAESD ", taesd_part_name(expected),
                 " weights (", describe(weights, "0.weight"), ", ", describe(weights, "1.weight"),
                 ", ", describe(weights, "19.weight"), ")");
        }
        const std::string tell = part == TaesdPart::Decoder ? "19.weight" : "14.weight";
        fail(StatusCode::InvalidArgument, path, ": holds TAESD ", taesd_part_name(part),
             " weights (tensor ", describe(weights, tell), ") but was given as the ",
             taesd_part_name(expected));
    }
    return TaesdConfig::from_weights(weights);
}

}  // namespace

const char* taesd_part_name(TaesdPart part) {
    switch (part) {
        case TaesdPart::Encoder:
            return "encoder";
        case TaesdPart::Decoder:
            return "decoder";
        default:
            return "unknown part";
    }
}

TaesdPart detect_taesd_part(const io::TensorMap& weights) {
    if (has_shape(weights, "0.weight", {kWidth, 3, 3, 3}) && find(weights, "14.weight") &&
        !find(weights, "19.weight")) {
        return TaesdPart::Encoder;
    }
    if (find(weights, "1.weight") && has_shape(weights, "19.weight", {3, kWidth, 3, 3}) &&
        !find(weights, "0.weight")) {
        return TaesdPart::Decoder;
    }
    return TaesdPart::Invalid;
}

TaesdConfig TaesdConfig::from_weights(const io::TensorMap& weights) {
    TaesdConfig config;
    switch (detect_taesd_part(weights)) {
        case TaesdPart::Encoder:
            config.latent_channels = find(weights, "14.weight")->size(0);
            config.midblock_pool = find(weights, "11.pool.0.weight") != nullptr;
            return config;
        case TaesdPart::Decoder:
            LIPAR_CHECK(find(weights, "1.weight")->dim() == 4, StatusCode::FormatError,
                        "TAESD decoder: ", describe(weights, "1.weight"), " is not a conv weight");
            config.latent_channels = find(weights, "1.weight")->size(1);
            config.midblock_pool = find(weights, "3.pool.0.weight") != nullptr;
            return config;
        default:
            break;
    }
    fail(StatusCode::FormatError,
         "weights are neither a TAESD encoder (expects '0.weight' [64, 3, 3, 3] and '14.weight') "
         "nor a TAESD decoder (expects '1.weight' and '19.weight' [3, 64, 3, 3]); found ",
         describe(weights, "0.weight"), ", ", describe(weights, "19.weight"));
}

TaesdEncoder::TaesdEncoder(const TaesdConfig& config, const torch::TensorOptions& options)
    : TaeStack(options), m_config(config) {
    LIPAR_CHECK(config.latent_channels > 0, StatusCode::InvalidArgument,
                "TAESD: latent channels must be positive, got ", config.latent_channels);
    conv(3, kWidth).block(kWidth, kWidth);
    for (int stage = 0; stage < 3; ++stage) {
        const bool pool = config.midblock_pool && stage == 2;
        conv(kWidth, kWidth, 2, false);
        for (int i = 0; i < 3; ++i)
            block(kWidth, kWidth, pool);
    }
    conv(kWidth, config.latent_channels);
}

torch::Tensor TaesdEncoder::forward(const torch::Tensor& x) const {
    return forward_frames(x).contiguous();
}

TaesdDecoder::TaesdDecoder(const TaesdConfig& config, const torch::TensorOptions& options)
    : TaeStack(options), m_config(config) {
    LIPAR_CHECK(config.latent_channels > 0, StatusCode::InvalidArgument,
                "TAESD: latent channels must be positive, got ", config.latent_channels);
    clamp().conv(config.latent_channels, kWidth).relu();
    for (int stage = 0; stage < 3; ++stage) {
        const bool pool = config.midblock_pool && stage == 0;
        for (int i = 0; i < 3; ++i)
            block(kWidth, kWidth, pool);
        upsample().conv(kWidth, kWidth, 1, false);
    }
    block(kWidth, kWidth).conv(kWidth, 3);
}

torch::Tensor TaesdDecoder::forward(const torch::Tensor& z) const {
    return forward_frames(z).clamp_(0.0, 1.0).contiguous();
}

void load_taesd_weights(TaeStack& part, const io::TensorMap& weights, const std::string& source) {
    try {
        io::apply_weights(part, weights);
    } catch (const Error& e) {
        throw Error(e.code(), str_cat(source, ": ", e.what()));
    }
}

TinyImageAutoencoder::TinyImageAutoencoder(std::shared_ptr<TaesdEncoder> encoder,
                                           std::shared_ptr<TaesdDecoder> decoder)
    : m_encoder(std::move(encoder)), m_decoder(std::move(decoder)) {
    LIPAR_CHECK(m_encoder || m_decoder, StatusCode::InvalidArgument,
                "TAESD: needs an encoder, a decoder or both");
    if (m_encoder && m_decoder) {
        LIPAR_CHECK(m_encoder->config() == m_decoder->config(), StatusCode::InvalidArgument,
                    "TAESD: the encoder has ", m_encoder->config().latent_channels,
                    " latent channels",
                    m_encoder->config().midblock_pool ? " (FLUX.2 variant)" : "",
                    " but the decoder has ", m_decoder->config().latent_channels,
                    m_decoder->config().midblock_pool ? " (FLUX.2 variant)" : "",
                    "; they are not one model");
    }
    m_config = m_encoder ? m_encoder->config() : m_decoder->config();
    m_options = m_encoder ? m_encoder->options() : m_decoder->options();
}

std::unique_ptr<TinyImageAutoencoder> TinyImageAutoencoder::load(
    const std::string& encoder_path,
    const std::string& decoder_path,
    const torch::TensorOptions& options) {
    LIPAR_CHECK(!encoder_path.empty() || !decoder_path.empty(), StatusCode::InvalidArgument,
                "TAESD: give an encoder weights file, a decoder weights file, or both");
    std::shared_ptr<TaesdEncoder> encoder;
    std::shared_ptr<TaesdDecoder> decoder;
    if (!encoder_path.empty()) {
        const auto weights = io::load_checkpoint(encoder_path);
        const auto config = checked_config(weights, TaesdPart::Encoder, encoder_path);
        encoder = std::make_shared<TaesdEncoder>(config, options);
        load_taesd_weights(*encoder, weights, encoder_path);
        encoder->eval();
    }
    if (!decoder_path.empty()) {
        const auto weights = io::load_checkpoint(decoder_path);
        const auto config = checked_config(weights, TaesdPart::Decoder, decoder_path);
        decoder = std::make_shared<TaesdDecoder>(config, options);
        load_taesd_weights(*decoder, weights, decoder_path);
        decoder->eval();
    }
    auto model = std::make_unique<TinyImageAutoencoder>(encoder, decoder);
    LIPAR_LOG_INFO("TAESD loaded: ", model->latent_channels(), " latent channels",
                   model->config().midblock_pool ? " (FLUX.2 variant)" : "", ", ",
                   dtype_name(options.dtype().toScalarType()), " on ", options.device().str());
    return model;
}

std::unique_ptr<TinyImageAutoencoder> TinyImageAutoencoder::random(
    const TaesdConfig& config,
    uint64_t seed,
    const torch::TensorOptions& options) {
    auto encoder = std::make_shared<TaesdEncoder>(config, options);
    auto decoder = std::make_shared<TaesdDecoder>(config, options);
    randomize_parameters(*encoder, seed);
    randomize_parameters(*decoder, seed + 1);
    centre_random_image_output(*decoder);
    return std::make_unique<TinyImageAutoencoder>(encoder, decoder);
}

torch::Tensor TinyImageAutoencoder::encode(const torch::Tensor& x) const {
    LIPAR_CHECK(m_encoder, StatusCode::InvalidArgument,
                "TAESD: no encoder weights were loaded; cannot encode");
    check_frames(x, "TAESD encode");
    torch::NoGradGuard no_grad;
    return m_encoder->forward(x.to(m_options.device(), m_options.dtype().toScalarType()));
}

torch::Tensor TinyImageAutoencoder::decode(const torch::Tensor& z) const {
    LIPAR_CHECK(m_decoder, StatusCode::InvalidArgument,
                "TAESD: no decoder weights were loaded; cannot decode");
    LIPAR_CHECK(z.defined() && z.dim() == 4 && z.size(1) == m_config.latent_channels &&
                    z.size(2) > 0 && z.size(3) > 0,
                StatusCode::ShapeMismatch, "TAESD decode: expected latents [N, ",
                m_config.latent_channels, ", h, w], got ",
                z.defined() ? shape_string(z.sizes()) : std::string("an undefined tensor"));
    torch::NoGradGuard no_grad;
    return m_decoder->forward(z.to(m_options.device(), m_options.dtype().toScalarType()));
}

}  // namespace lipar::model
