#include "model/vae/taehv.h"

#include <optional>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "core/json.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/weights.h"

namespace lipar::model {

namespace {

constexpr int64_t kImageChannels = 3;
constexpr const char* kLayoutKey = "lipar.taehv";

// [N, t, C, H, W] <-> [N * t, C, H, W]
torch::Tensor flat(const torch::Tensor& x) {
    return x.reshape({x.size(0) * x.size(1), x.size(2), x.size(3), x.size(4)});
}

torch::Tensor unflat(const torch::Tensor& y, int64_t n) {
    return y.view({n, y.size(0) / n, y.size(1), y.size(2), y.size(3)});
}

std::string shape_or_undefined(const torch::Tensor& t) {
    return t.defined() ? shape_string(t.sizes()) : std::string("an undefined tensor");
}

// Frames of a stream must keep one batch size and frame size.
void check_same_stream(const torch::Tensor& previous, const torch::Tensor& x, const char* what) {
    if (!previous.defined())
        return;
    LIPAR_CHECK(previous.size(0) == x.size(0) && previous.size(3) == x.size(3) &&
                    previous.size(4) == x.size(4),
                StatusCode::ShapeMismatch, what, ": this stream started with ",
                shape_string(previous.sizes()), " but got ", shape_string(x.sizes()),
                "; reset() the state to start a new stream");
}

}  // namespace

int64_t TaehvConfig::temporal_ratio() const {
    int64_t ratio = 1;
    for (const auto& stage : encoder)
        ratio *= stage.time;
    return ratio;
}

int64_t TaehvConfig::spatial_ratio() const {
    int64_t ratio = patch;
    for (const auto& stage : encoder)
        ratio *= stage.space ? 2 : 1;
    return ratio;
}

bool TaehvConfig::is_default_layout() const {
    TaehvConfig d;
    auto same = [](const std::vector<TaeStageSpec>& a, const std::vector<TaeStageSpec>& b) {
        if (a.size() != b.size())
            return false;
        for (size_t i = 0; i < a.size(); ++i) {
            if (a[i].width != b[i].width || a[i].blocks != b[i].blocks || a[i].time != b[i].time ||
                a[i].space != b[i].space)
                return false;
        }
        return true;
    };
    return patch == d.patch && encoder_input_width == d.encoder_input_width &&
           same(encoder, d.encoder) && same(decoder, d.decoder) &&
           decoder_output_width == d.decoder_output_width && trim() == d.trim();
}

void TaehvConfig::validate() const {
    auto check = [](bool ok, const std::string& what) {
        LIPAR_CHECK(ok, StatusCode::InvalidArgument, "TAEHV layout: ", what);
    };
    check(latent_channels > 0, "latent channels must be positive");
    check(patch >= 1 && patch <= 8, "patch must be 1..8");
    check(encoder_input_width > 0 && decoder_output_width > 0, "widths must be positive");
    check(!encoder.empty() && !decoder.empty(), "encoder and decoder need at least one stage");
    int64_t up_time = 1, up_space = patch;
    for (const auto& s : decoder) {
        check(s.width > 0 && s.blocks >= 0 && s.time >= 1 && s.time <= 8, "bad decoder stage");
        up_time *= s.time;
        up_space *= s.space ? 2 : 1;
    }
    for (const auto& s : encoder)
        check(s.width > 0 && s.blocks >= 0 && s.time >= 1 && s.time <= 8, "bad encoder stage");
    check(up_time == temporal_ratio(), str_cat("encoder temporal ratio ", temporal_ratio(),
                                               " differs from decoder ratio ", up_time));
    check(up_space == spatial_ratio(), str_cat("encoder spatial ratio ", spatial_ratio(),
                                               " differs from decoder ratio ", up_space));
    check(trim() >= 0 && trim() < temporal_ratio() * 4, "frames_to_trim out of range");
}

std::string TaehvConfig::to_json() const {
    auto stages = [](const std::vector<TaeStageSpec>& v) {
        Json a = Json::array();
        for (const auto& s : v) {
            a.push_back(Json::object()
                            .set("width", s.width)
                            .set("blocks", s.blocks)
                            .set("time", s.time)
                            .set("space", s.space));
        }
        return a;
    };
    return Json::object()
        .set("latent_channels", latent_channels)
        .set("patch", patch)
        .set("encoder_input_width", encoder_input_width)
        .set("encoder", stages(encoder))
        .set("decoder", stages(decoder))
        .set("decoder_output_width", decoder_output_width)
        .set("frames_to_trim", trim())
        .dump();
}

TaehvConfig TaehvConfig::from_json(const std::string& text) {
    TaehvConfig c;
    try {
        const Json j = Json::parse(text);
        auto stages = [](const Json& a) {
            std::vector<TaeStageSpec> v;
            for (const auto& e : a.elements()) {
                v.push_back({e.at("width").as_int64(), e.at("blocks").as_int64(),
                             e.at("time").as_int64(), e.at("space").as_bool()});
            }
            return v;
        };
        c.latent_channels = j.at("latent_channels").as_int64();
        c.patch = j.at("patch").as_int64();
        c.encoder_input_width = j.at("encoder_input_width").as_int64();
        c.encoder = stages(j.at("encoder"));
        c.decoder = stages(j.at("decoder"));
        c.decoder_output_width = j.at("decoder_output_width").as_int64();
        c.frames_to_trim = j.at("frames_to_trim").as_int64();
    } catch (const Error& e) {
        fail(StatusCode::FormatError, "TAEHV layout metadata: ", e.what());
    }
    c.validate();
    return c;
}

TaehvConfig TaehvConfig::nano() {
    TaehvConfig c;
    c.patch = 4;
    c.encoder_input_width = 32;
    c.encoder = {{48, 1, 2, true}, {64, 1, 2, false}};
    c.decoder = {{96, 2, 2, false}, {64, 1, 2, true}};
    c.decoder_output_width = 48;
    c.frames_to_trim = 0;
    return c;
}

void TaehvEncoderState::reset() {
    m_layer_state.clear();
    m_last_frame = torch::Tensor();
    m_frames_in = 0;
    m_latents_out = 0;
}

void TaehvDecoderState::reset() {
    m_layer_state.clear();
    m_last_latent = torch::Tensor();
    m_latents_in = 0;
    m_frames_out = 0;
    m_frames_trimmed = 0;
}

Taehv::Taehv(const TaehvConfig& config, const torch::TensorOptions& options)
    : m_config(config), m_options(options) {
    config.validate();
    const int64_t pixels = kImageChannels * config.patch * config.patch;
    m_encoder = register_module("encoder", std::make_shared<TaeStack>(options));
    m_encoder->conv(pixels, config.encoder_input_width).relu();
    int64_t width = config.encoder_input_width;
    for (const auto& stage : config.encoder) {
        m_encoder->tpool(width, stage.time).conv(width, stage.width, stage.space ? 2 : 1, false);
        width = stage.width;
        for (int64_t i = 0; i < stage.blocks; ++i)
            m_encoder->mem_block(width, width);
    }
    m_encoder->conv(width, config.latent_channels);

    m_decoder = register_module("decoder", std::make_shared<TaeStack>(options));
    m_decoder->clamp().conv(config.latent_channels, config.decoder.front().width).relu();
    for (size_t s = 0; s < config.decoder.size(); ++s) {
        const auto& stage = config.decoder[s];
        const int64_t next = s + 1 < config.decoder.size() ? config.decoder[s + 1].width
                                                           : config.decoder_output_width;
        for (int64_t i = 0; i < stage.blocks; ++i)
            m_decoder->mem_block(stage.width, stage.width);
        if (stage.space)
            m_decoder->upsample();
        m_decoder->tgrow(stage.width, stage.time).conv(stage.width, next, 1, false);
    }
    m_decoder->relu().conv(config.decoder_output_width, pixels);
}

std::shared_ptr<Taehv> Taehv::random(uint64_t seed,
                                     const torch::TensorOptions& options,
                                     const TaehvConfig& config) {
    auto model = std::make_shared<Taehv>(config, options);
    randomize_parameters(*model, seed);
    centre_random_image_output(*model->m_decoder);
    model->eval();
    return model;
}

std::shared_ptr<Taehv> Taehv::load(const std::string& path, const torch::TensorOptions& options) {
    TaehvConfig config;
    bool described = false;
    if (io::detect_checkpoint_format(path) == io::CheckpointFormat::Safetensors) {
        const auto header = io::read_safetensors_header(path);
        auto meta = header.metadata.find(kLayoutKey);
        if (meta != header.metadata.end()) {
            try {
                config = TaehvConfig::from_json(meta->second);
            } catch (const Error& e) {
                throw Error(e.code(), str_cat(path, ": ", e.what()));
            }
            described = true;
        }
    }
    auto weights = io::load_checkpoint(path);
    auto it = weights.find("encoder.0.weight");
    LIPAR_CHECK(it != weights.end(), StatusCode::FormatError, path,
                ": not TAEHV weights (no tensor 'encoder.0.weight')");
    if (!described) {
        LIPAR_CHECK(it->second.dim() == 4 && it->second.size(1) == kImageChannels,
                    StatusCode::Unsupported, path, ": tensor 'encoder.0.weight' has shape ",
                    shape_string(it->second.sizes()),
                    "; only TAEHV models without pixel patching (taew2_1, taehv) or with a "
                    "lipar.taehv layout are supported");
        auto latent = weights.find("decoder.1.weight");
        if (latent != weights.end() && latent->second.dim() == 4) {
            config.latent_channels = latent->second.size(1);
        }
    }
    auto model = std::make_shared<Taehv>(config, options);
    model->load_weights(std::move(weights), path);
    model->eval();
    LIPAR_LOG_INFO("TAEHV loaded from ", path, ": ", config.latent_channels, " latent channels, ",
                   described ? "own layout, " : "", dtype_name(options.dtype().toScalarType()),
                   " on ", options.device().str());
    return model;
}

void Taehv::save(const std::string& path, torch::Dtype dtype) const {
    io::write_safetensors(path, parameters_to_map(*this, dtype),
                          {{kLayoutKey, m_config.to_json()}});
}

void Taehv::load_weights(io::TensorMap weights, const std::string& source) {
    for (const auto& layer : m_decoder->layers()) {
        if (layer.kind != TaeLayerKind::TGrow)
            continue;
        const std::string key = str_cat("decoder.", layer.index, ".conv.weight");
        auto it = weights.find(key);
        const int64_t rows = layer.time->conv->weight.size(0);
        if (it != weights.end() && it->second.dim() == 4 && it->second.size(0) > rows) {
            it->second = it->second.narrow(0, it->second.size(0) - rows, rows);
        }
    }
    try {
        io::apply_weights(*this, weights);
    } catch (const Error& e) {
        throw Error(e.code(), str_cat(source, ": ", e.what()));
    }
}

torch::Tensor Taehv::run_stack(TaeStack& stack,
                               std::vector<torch::Tensor>& layer_state,
                               torch::Tensor x) {
    const auto& layers = stack.layers();
    layer_state.resize(layers.size());
    const int64_t n = x.size(0);
    for (size_t i = 0; i < layers.size(); ++i) {
        if (x.size(1) == 0)
            return {};
        const TaeLayer& layer = layers[i];
        torch::Tensor& state = layer_state[i];
        switch (layer.kind) {
            case TaeLayerKind::MemBlock: {
                const int64_t t = x.size(1);
                torch::Tensor prev = state.defined() ? state : torch::zeros_like(x.narrow(1, 0, 1));
                torch::Tensor past = t > 1 ? torch::cat({prev, x.narrow(1, 0, t - 1)}, 1) : prev;
                state = x.narrow(1, t - 1, 1).clone();
                x = unflat(layer.mem->forward(flat(x), flat(past)), n);
                break;
            }
            case TaeLayerKind::TPool: {
                const int64_t s = layer.stride;
                if (state.defined()) {
                    x = torch::cat({state, x}, 1);
                    state = torch::Tensor();
                }
                const int64_t t = x.size(1);
                const int64_t full = t / s * s;
                if (full < t)
                    state = x.narrow(1, full, t - full).clone();
                if (full == 0)
                    return {};
                auto grouped = x.narrow(1, 0, full)
                                   .reshape({n * full / s, s * x.size(2), x.size(3), x.size(4)});
                x = unflat(layer.time->conv->forward(grouped), n);
                break;
            }
            case TaeLayerKind::Upsample: {
                // A following TGrow is a 1x1 conv and commutes with nearest upsampling: run it
                // first, on 4x fewer pixels.
                if (i + 1 < layers.size() && layers[i + 1].kind == TaeLayerKind::TGrow) {
                    const TaeLayer& grow = layers[i + 1];
                    const int64_t c = x.size(2);
                    auto y = grow.time->conv->forward(flat(x));
                    x = y.reshape({n, -1, c, y.size(2), y.size(3)});
                    ++i;
                }
                x = unflat(apply_frame_layer(layer, flat(x)), n);
                break;
            }
            case TaeLayerKind::TGrow: {
                const int64_t c = x.size(2);
                auto y = layer.time->conv->forward(flat(x));
                x = y.reshape({n, -1, c, y.size(2), y.size(3)});
                break;
            }
            default:
                x = unflat(apply_frame_layer(layer, flat(x)), n);
        }
    }
    return x;
}

torch::Tensor Taehv::encode_step(TaehvEncoderState& state, const torch::Tensor& x_in) {
    const int64_t ratio = spatial_ratio();
    LIPAR_CHECK(x_in.defined() && x_in.dim() == 5 && x_in.size(2) == kImageChannels,
                StatusCode::ShapeMismatch,
                "TAEHV encode: expected RGB frames [N, T, 3, H, W], got ",
                shape_or_undefined(x_in));
    LIPAR_CHECK(x_in.size(0) > 0 && x_in.size(3) > 0 && x_in.size(4) > 0 &&
                    x_in.size(3) % ratio == 0 && x_in.size(4) % ratio == 0,
                StatusCode::ShapeMismatch, "TAEHV encode: frames ", shape_string(x_in.sizes()),
                " need N > 0 and H, W non-zero multiples of ", ratio);
    check_same_stream(state.m_last_frame, x_in, "TAEHV encode");
    std::optional<torch::NoGradGuard> no_grad;
    if (!is_training())
        no_grad.emplace();
    const int64_t t = x_in.size(1);
    auto empty = torch::empty({x_in.size(0), 0, m_config.latent_channels, x_in.size(3) / ratio,
                               x_in.size(4) / ratio},
                              m_options);
    if (t == 0)
        return empty;
    auto x = x_in.to(m_options.device(), m_options.dtype().toScalarType());
    state.m_last_frame = x.narrow(1, t - 1, 1).clone();
    state.m_frames_in += t;
    if (m_config.patch > 1) {
        auto folded = torch::pixel_unshuffle(flat(x), m_config.patch);
        x = unflat(folded, x.size(0));
    }
    auto z = run_stack(*m_encoder, state.m_layer_state, x);
    if (!z.defined())
        return empty;
    state.m_latents_out += z.size(1);
    return z.contiguous();
}

torch::Tensor Taehv::encode_flush(TaehvEncoderState& state) {
    torch::Tensor z;
    if (!state.m_last_frame.defined()) {
        z = torch::empty({0, 0, m_config.latent_channels, 0, 0}, m_options);
    } else {
        const int64_t ratio = temporal_ratio();
        const int64_t pad = (ratio - state.m_frames_in % ratio) % ratio;
        auto last = state.m_last_frame;
        z = encode_step(state,
                        last.expand({last.size(0), pad, last.size(2), last.size(3), last.size(4)}));
    }
    state.reset();
    return z;
}

torch::Tensor Taehv::decode_step(TaehvDecoderState& state, const torch::Tensor& z_in) {
    LIPAR_CHECK(z_in.defined() && z_in.dim() == 5 && z_in.size(2) == m_config.latent_channels &&
                    z_in.size(0) > 0 && z_in.size(3) > 0 && z_in.size(4) > 0,
                StatusCode::ShapeMismatch, "TAEHV decode: expected latents [N, K, ",
                m_config.latent_channels, ", h, w], got ", shape_or_undefined(z_in));
    check_same_stream(state.m_last_latent, z_in, "TAEHV decode");
    std::optional<torch::NoGradGuard> no_grad;
    if (!is_training())
        no_grad.emplace();
    const int64_t ratio = spatial_ratio();
    auto empty = torch::empty(
        {z_in.size(0), 0, kImageChannels, z_in.size(3) * ratio, z_in.size(4) * ratio}, m_options);
    const int64_t k = z_in.size(1);
    if (k == 0)
        return empty;
    auto z = z_in.to(m_options.device(), m_options.dtype().toScalarType());
    state.m_last_latent = z.narrow(1, k - 1, 1).clone();
    state.m_latents_in += k;
    auto x = run_stack(*m_decoder, state.m_layer_state, z);
    if (!x.defined())
        return empty;
    if (m_config.patch > 1)
        x = unflat(torch::pixel_shuffle(flat(x), m_config.patch), x.size(0));
    const int64_t drop = std::min(frames_to_trim() - state.m_frames_trimmed, x.size(1));
    if (drop > 0) {
        x = x.narrow(1, drop, x.size(1) - drop);
        state.m_frames_trimmed += drop;
    }
    state.m_frames_out += x.size(1);
    // Training keeps the unclamped values (a clamp would stop the gradient of saturated pixels).
    return is_training() ? x : x.clamp_(0.0, 1.0).contiguous();
}

torch::Tensor Taehv::encode(const torch::Tensor& x) {
    LIPAR_CHECK(x.defined() && x.dim() == 5 && x.size(1) > 0, StatusCode::ShapeMismatch,
                "TAEHV encode: expected RGB frames [N, T, 3, H, W] with T > 0, got ",
                shape_or_undefined(x));
    TaehvEncoderState state;
    auto z = encode_step(state, x);
    auto rest = encode_flush(state);
    return rest.size(1) > 0 ? torch::cat({z, rest}, 1) : z;
}

torch::Tensor Taehv::decode(const torch::Tensor& z) {
    LIPAR_CHECK(z.defined() && z.dim() == 5 && z.size(1) > 0, StatusCode::ShapeMismatch,
                "TAEHV decode: expected latents [N, K, ", m_config.latent_channels,
                ", h, w] with K > 0, got ", shape_or_undefined(z));
    TaehvDecoderState state;
    return decode_step(state, z);
}

}  // namespace lipar::model
