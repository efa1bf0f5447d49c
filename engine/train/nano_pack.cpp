#include "train/nano_pack.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/log.h"
#include "io/safetensors.h"
#include "model/vae/tae_layers.h"
#include "pipeline/model_pack.h"
#include "train/styles.h"

namespace lipar::train {

namespace fs = std::filesystem;

void write_nano_pack(const NanoPackContent& c, const model::Taehv& autoencoder,
                     const EditorModulesImpl& modules) {
    LIPAR_CHECK(!c.out.empty(), StatusCode::InvalidArgument, "no pack folder given");
    const fs::path out = fs::absolute(c.out);
    const fs::path tmp = out.parent_path() / (out.filename().string() + ".partial");
    std::error_code ec;
    fs::remove_all(tmp, ec);
    fs::create_directories(tmp, ec);
    LIPAR_CHECK(!ec, StatusCode::IoError, "cannot create ", tmp.string(), ": ", ec.message());

    autoencoder.save((tmp / "autoencoder.safetensors").string(), torch::kFloat16);
    io::write_safetensors((tmp / "dit.safetensors").string(),
                          model::parameters_to_map(*modules.dit, torch::kFloat16),
                          {{"lipar", "Nano DiT, " + modules.dit->config().describe()}});
    io::write_safetensors((tmp / "text_encoder.safetensors").string(),
                          model::parameters_to_map(*modules.text, torch::kFloat16),
                          {{"lipar", "Nano UMT5 text encoder, " + modules.text->config().to_string()}});
    fs::copy_file(c.tokenizer, tmp / "spiece.model", fs::copy_options::overwrite_existing, ec);
    LIPAR_CHECK(!ec, StatusCode::IoError, "cannot copy the tokenizer ", c.tokenizer, ": ",
                ec.message());
    {
        std::ofstream card(tmp / "README.md", std::ios::binary | std::ios::trunc);
        card << c.model_card;
        LIPAR_CHECK(card.good(), StatusCode::IoError, "cannot write the model card");
    }

    pipeline::ModelPack p;
    p.dir = tmp.string();
    p.name = "nano";
    p.description =
        "LIPAR Studio's own trained editor: prompt-driven stylization, real time on a CPU";
    p.untrained = false;
    p.dit_weights = (tmp / "dit.safetensors").string();
    p.dit_head_dim = modules.dit->config().head_dim();
    p.autoencoder_kind = "taehv";
    p.encoder_weights = p.decoder_weights = (tmp / "autoencoder.safetensors").string();
    p.text_kind = "umt5";
    p.text_weights = (tmp / "text_encoder.safetensors").string();
    p.tokenizer = (tmp / "spiece.model").string();
    p.text_len = c.text_len;
    p.shift = c.shift;
    p.steps = c.steps;
    p.frames_per_block = c.frames_per_block;
    p.width = c.width;
    p.height = c.height;
    p.multiple = static_cast<int>(autoencoder.spatial_ratio() * modules.dit->config().patch[1]);
    p.window_sink = c.window_sink;
    p.window_recent = c.window_recent;
    for (const auto& s : style_catalog()) p.styles.push_back(s.name);
    p.save();
    pipeline::ModelPack::load(tmp.string());  // the files it names exist and parse

    // Swap into place: the old pack (if any) is removed only once the new one is complete.
    const fs::path old = out.parent_path() / (out.filename().string() + ".old");
    fs::remove_all(old, ec);
    if (fs::exists(out)) fs::rename(out, old);
    fs::rename(tmp, out);
    fs::remove_all(old, ec);
    LIPAR_LOG_INFO("wrote the Nano pack to ", out.string());
}

}  // namespace lipar::train
