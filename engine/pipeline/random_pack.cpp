#include "pipeline/random_pack.h"

#include <filesystem>

#include "core/error.h"
#include "core/log.h"
#include "io/safetensors.h"
#include "model/dit/wan_dit.h"
#include "model/vae/autoencoder.h"
#include "model/text/umt5.h"
#include "model/vae/taehv.h"

namespace lipar::pipeline {

namespace fs = std::filesystem;

namespace {
io::TensorMap state_dict(torch::nn::Module& m, torch::Dtype dtype) {
    io::TensorMap out;
    for (const auto& p : m.named_parameters()) {
        out[p.key()] = p.value().detach().to(torch::kCPU, dtype).contiguous();
    }
    for (const auto& b : m.named_buffers()) {
        out[b.key()] = b.value().detach().to(torch::kCPU).contiguous();
    }
    return out;
}
}  // namespace

ModelPack write_random_pack(const RandomPackOptions& o) {
    torch::NoGradGuard no_grad;
    LIPAR_CHECK(!o.out.empty(), StatusCode::InvalidArgument, "no output directory given");
    LIPAR_CHECK(o.text_len >= 0 && o.text_len <= 4096, StatusCode::InvalidArgument,
                "text length ", o.text_len, " is outside 1..4096 (0 = the configuration's)");
    fs::create_directories(o.out);
    ModelPack p;
    p.dir = o.out;
    p.untrained = true;
    p.frames_per_block = o.frames_per_block;

    int64_t latent_channels = 16;
    if (o.autoencoder == "taehv") {
        auto taehv = model::Taehv::random(o.seed + 1, torch::TensorOptions());
        p.autoencoder_kind = "taehv";
        p.encoder_weights = p.decoder_weights = (fs::path(o.out) / "taehv.safetensors").string();
        io::write_safetensors(p.encoder_weights, state_dict(*taehv, torch::kFloat32),
                              {{"lipar", "random TAEHV (untrained)"}});
    } else if (o.autoencoder.rfind("taesd:", 0) == 0) {
        const std::string files = o.autoencoder.substr(6);
        const auto comma = files.find(',');
        LIPAR_CHECK(comma != std::string::npos, StatusCode::InvalidArgument,
                    "--autoencoder taesd:ENCODER,DECODER needs two files");
        p.autoencoder_kind = "taesd";
        p.encoder_weights = fs::absolute(files.substr(0, comma)).string();
        p.decoder_weights = fs::absolute(files.substr(comma + 1)).string();
        auto ae = model::load_autoencoder("taesd", p.encoder_weights, p.decoder_weights,
                                          torch::TensorOptions());
        latent_channels = ae->latent_channels();
    } else {
        fail(StatusCode::InvalidArgument, "unknown --autoencoder '", o.autoencoder,
             "' (expected taehv or taesd:ENCODER,DECODER)");
    }

    auto config = model::DitConfig::by_name(o.config);
    config.in_channels = config.out_channels = latent_channels;
    const bool big = config.parameter_count() > 100000000;
    {
        model::WanDit dit(config, torch::TensorOptions());
        model::init_random_weights(*dit, o.seed);
        p.dit_weights = (fs::path(o.out) / "dit.safetensors").string();
        io::write_safetensors(p.dit_weights, state_dict(*dit, big ? torch::kBFloat16 : torch::kFloat32),
                              {{"lipar", "random Wan DiT (untrained), config " + o.config}});
    }
    p.text_len = o.text_len > 0 ? o.text_len : config.text_len;
    if (o.text == "hashed") {
        p.text_kind = "hashed";
    } else if (o.text.rfind("umt5:", 0) == 0) {
        p.text_kind = "umt5";
        p.tokenizer = fs::absolute(o.text.substr(5)).string();
        LIPAR_CHECK(fs::is_regular_file(p.tokenizer), StatusCode::NotFound, "tokenizer model ",
                    p.tokenizer, " does not exist");
        model::Umt5Config tc;
        tc.d_model = config.text_dim;
        tc.num_heads = std::max<int64_t>(1, config.text_dim / 64);
        tc.d_kv = config.text_dim / tc.num_heads;
        tc.num_layers = o.text_layers;
        tc.d_ff = big ? 10240 : 2 * config.text_dim;
        if (!big) tc.vocab_size = 32128;
        auto umt5 = model::make_random_umt5(tc, torch::TensorOptions(), o.seed + 2);
        p.text_weights = (fs::path(o.out) / "umt5.safetensors").string();
        io::write_safetensors(p.text_weights, state_dict(*umt5, big ? torch::kBFloat16 : torch::kFloat32),
                              {{"lipar", "random UMT5 encoder (untrained), " + tc.to_string()}});
    } else {
        fail(StatusCode::InvalidArgument, "unknown --text '", o.text,
             "' (expected hashed or umt5:TOKENIZER.model)");
    }
    const bool tiny = o.config == "tiny";
    p.width = o.width > 0 ? o.width : (tiny ? 320 : 832);
    p.height = o.height > 0 ? o.height : (tiny ? 192 : 480);
    p.name = o.config + "-random";
    p.description = "UNTRAINED: seeded random weights (seed " + std::to_string(o.seed) + ", " +
                    config.describe() + "); output is noise; for tests, demos and benchmarks";
    p.save();
    LIPAR_LOG_INFO("wrote random pack ", p.dir);
    return ModelPack::load(o.out);
}

}  // namespace lipar::pipeline
