#include "model/text/umt5_weights.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/device.h"
#include "core/error.h"
#include "core/json.h"
#include "core/log.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/weights.h"

namespace fs = std::filesystem;

namespace lipar::model {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}
bool all_digits(const std::string& s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Tensors of a full encoder-decoder checkpoint that the encoder never uses.
bool is_unused_name(const std::string& name) {
    return starts_with(name, "decoder.") || starts_with(name, "lm_head.");
}

const char* const kSharedPositionBias = "<shared position bias>";

// Wan's per-block names -> Hugging Face's, for the part after "blocks.N.".
std::string map_wan_block_name(const std::string& rest) {
    static const std::pair<const char*, const char*> kMap[] = {
        {"norm1.weight", "layer.0.layer_norm.weight"},
        {"attn.q.weight", "layer.0.SelfAttention.q.weight"},
        {"attn.k.weight", "layer.0.SelfAttention.k.weight"},
        {"attn.v.weight", "layer.0.SelfAttention.v.weight"},
        {"attn.o.weight", "layer.0.SelfAttention.o.weight"},
        {"pos_embedding.embedding.weight", "layer.0.SelfAttention.relative_attention_bias.weight"},
        {"norm2.weight", "layer.1.layer_norm.weight"},
        {"ffn.gate.0.weight", "layer.1.DenseReluDense.wi_0.weight"},
        {"ffn.fc1.weight", "layer.1.DenseReluDense.wi_1.weight"},
        {"ffn.fc2.weight", "layer.1.DenseReluDense.wo.weight"},
    };
    for (const auto& [wan, hf] : kMap) {
        if (rest == wan)
            return hf;
    }
    return {};
}

std::string canonical_name(std::string name) {
    for (const char* prefix : {"module.", "model."}) {
        if (starts_with(name, prefix))
            name = name.substr(std::string(prefix).size());
    }
    if (name == "token_embedding.weight")
        return "shared.weight";
    if (name == "norm.weight")
        return "encoder.final_layer_norm.weight";
    if (name == "pos_embedding.embedding.weight")
        return kSharedPositionBias;
    if (starts_with(name, "blocks.")) {
        const auto dot = name.find('.', 7);
        if (dot != std::string::npos) {
            const std::string index = name.substr(7, dot - 7);
            const std::string mapped = map_wan_block_name(name.substr(dot + 1));
            const bool numeric = all_digits(index);
            if (numeric && !mapped.empty())
                return "encoder.block." + index + "." + mapped;
        }
    }
    return name;
}

const torch::Tensor& require(const io::TensorMap& w, const std::string& name, int64_t dims) {
    auto it = w.find(name);
    LIPAR_CHECK(it != w.end(), StatusCode::FormatError, "UMT5 weights lack tensor '", name, "'");
    LIPAR_CHECK(it->second.dim() == dims, StatusCode::FormatError, "UMT5 tensor '", name,
                "' has shape ", shape_string(it->second.sizes()), ", expected ", dims,
                " dimensions");
    return it->second;
}

std::string read_text_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    LIPAR_CHECK(in, StatusCode::IoError, "cannot read '", path.string(), "'");
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
}

// Shard files named by an index must stay inside its directory.
fs::path shard_path(const fs::path& dir, const std::string& file, const fs::path& index) {
    const fs::path rel(file);
    bool escapes = rel.empty() || rel.is_absolute();
    for (const auto& part : rel)
        escapes = escapes || part == "..";
    LIPAR_CHECK(!escapes, StatusCode::FormatError, "index '", index.string(),
                "' names a shard outside its directory: '", file, "'");
    return dir / rel;
}

io::TensorMap read_sharded(const fs::path& index_path, std::string* description) {
    const Json index = Json::parse(read_text_file(index_path));
    const Json* map = index.find("weight_map");
    LIPAR_CHECK(map && map->is_object(), StatusCode::FormatError, "'", index_path.string(),
                "' has no \"weight_map\" object");
    std::map<std::string, std::set<std::string>> by_file;
    for (const auto& [name, file] : map->items()) {
        LIPAR_CHECK(file.is_string(), StatusCode::FormatError, "'", index_path.string(),
                    "': weight_map[\"", name, "\"] is not a file name");
        if (!is_unused_name(name))
            by_file[file.as_string()].insert(name);
    }
    io::TensorMap out;
    for (const auto& [file, names] : by_file) {
        const fs::path path = shard_path(index_path.parent_path(), file, index_path);
        auto part = io::read_safetensors(
            path.string(), [&names = names](const std::string& n) { return names.count(n) > 0; });
        for (const auto& name : names) {
            LIPAR_CHECK(part.count(name), StatusCode::FormatError, "shard '", path.string(),
                        "' lacks tensor '", name, "' that '", index_path.filename().string(),
                        "' assigns to it");
        }
        for (auto& [name, tensor] : part)
            out[name] = std::move(tensor);
    }
    *description = str_cat("Hugging Face safetensors (", by_file.size(), " shard(s) of ",
                           index_path.string(), ")");
    return out;
}

// max_distance and eps from a Hugging Face config.json beside the weights, when it describes a
// T5-family model. Rejects feed-forward variants this module does not implement.
void apply_hf_config(const fs::path& dir, Umt5Config& config) {
    const fs::path path = dir / "config.json";
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
        return;
    Json json;
    try {
        json = Json::parse(read_text_file(path));
    } catch (const Error& e) {
        LIPAR_LOG_WARN("ignoring ", path.string(), ": ", e.what());
        return;
    }
    const Json* type = json.find("model_type");
    if (!type || !type->is_string())
        return;
    const std::string model_type = type->as_string();
    if (model_type != "umt5" && model_type != "t5" && model_type != "mt5")
        return;
    if (const Json* ff = json.find("feed_forward_proj"); ff && ff->is_string()) {
        LIPAR_CHECK(ff->as_string() == "gated-gelu", StatusCode::Unsupported, path.string(),
                    ": feed_forward_proj '", ff->as_string(),
                    "' is not supported (the UMT5 encoder uses gated-gelu)");
    }
    if (const Json* d = json.find("relative_attention_max_distance"); d && d->is_integer()) {
        config.max_distance = d->as_int64();
    }
    if (const Json* e = json.find("layer_norm_epsilon"); e && e->is_number()) {
        config.eps = e->as_double();
    }
}

fs::path find_in_directory(const fs::path& dir) {
    std::vector<fs::path> indexes, safetensors, pickles;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!entry.is_regular_file(ec))
            continue;
        const std::string name = entry.path().filename().string();
        if (ends_with(name, ".safetensors.index.json"))
            indexes.push_back(entry.path());
        else if (ends_with(name, ".safetensors"))
            safetensors.push_back(entry.path());
        else if (ends_with(name, ".pth") || ends_with(name, ".pt"))
            pickles.push_back(entry.path());
    }
    LIPAR_CHECK(!ec, StatusCode::IoError, "cannot list '", dir.string(), "': ", ec.message());
    auto pick = [&](std::vector<fs::path>& found, const char* preferred) -> fs::path {
        std::sort(found.begin(), found.end());
        for (const auto& p : found) {
            if (p.filename() == preferred)
                return p;
        }
        return found.size() == 1 ? found.front() : fs::path();
    };
    for (auto* group : {&indexes, &safetensors}) {
        if (group->empty())
            continue;
        fs::path p =
            pick(*group, group == &indexes ? "model.safetensors.index.json" : "model.safetensors");
        LIPAR_CHECK(!p.empty(), StatusCode::InvalidArgument, "'", dir.string(), "' holds ",
                    group->size(), " candidate weight files; name one of them");
        return p;
    }
    if (!pickles.empty()) {
        fs::path p = pick(pickles, "models_t5_umt5-xxl-enc-bf16.pth");
        LIPAR_CHECK(!p.empty(), StatusCode::InvalidArgument, "'", dir.string(), "' holds ",
                    pickles.size(), " .pth files; name the UMT5 one");
        return p;
    }
    fail(StatusCode::NotFound, "no UMT5 weights in '", dir.string(),
         "' (looked for *.safetensors.index.json, *.safetensors, *.pth)");
}

}  // namespace

io::TensorMap canonical_umt5_weights(io::TensorMap weights) {
    io::TensorMap out;
    for (auto& [name, tensor] : weights) {
        if (is_unused_name(name))
            continue;
        std::string mapped = canonical_name(name);
        LIPAR_CHECK(!out.count(mapped), StatusCode::FormatError, "UMT5 weights hold '", mapped,
                    "' twice (once as '", name, "')");
        out.emplace(std::move(mapped), std::move(tensor));
    }
    auto embed = out.find("encoder.embed_tokens.weight");
    if (embed != out.end()) {
        // Tied to shared.weight in Hugging Face's models; either may be the one saved.
        if (!out.count("shared.weight"))
            out["shared.weight"] = embed->second;
        out.erase("encoder.embed_tokens.weight");
    }
    return out;
}

Umt5Config detect_umt5_config(const io::TensorMap& w) {
    LIPAR_CHECK(!w.count(kSharedPositionBias), StatusCode::Unsupported,
                "these are T5 weights with one shared position bias (Wan's shared_pos=True); the "
                "text encoder implements UMT5, which has one per layer");
    Umt5Config c;
    const auto& shared = require(w, "shared.weight", 2);
    c.vocab_size = shared.size(0);
    c.d_model = shared.size(1);

    std::set<int64_t> layers;
    for (const auto& [name, tensor] : w) {
        if (!starts_with(name, "encoder.block."))
            continue;
        const auto dot = name.find('.', 14);
        const std::string index = name.substr(14, dot == std::string::npos ? dot : dot - 14);
        if (all_digits(index) && index.size() < 10) {
            layers.insert(std::stoll(index));
        }
    }
    LIPAR_CHECK(!layers.empty(), StatusCode::FormatError,
                "UMT5 weights hold no encoder blocks (encoder.block.N.* or Wan's blocks.N.*)");
    c.num_layers = static_cast<int64_t>(layers.size());
    LIPAR_CHECK(*layers.rbegin() == c.num_layers - 1, StatusCode::FormatError,
                "UMT5 encoder blocks are not numbered 0..", c.num_layers - 1, " (highest is ",
                *layers.rbegin(), ")");

    const std::string b0 = "encoder.block.0.layer.";
    if (!w.count(b0 + "1.DenseReluDense.wi_0.weight") &&
        w.count(b0 + "1.DenseReluDense.wi.weight")) {
        fail(StatusCode::Unsupported,
             "these T5 weights use a plain (non-gated) feed-forward; UMT5 uses gated-GELU");
    }
    if (c.num_layers > 1) {
        LIPAR_CHECK(w.count("encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight"),
                    StatusCode::Unsupported,
                    "these are T5 weights with one shared position bias (only block 0 has "
                    "relative_attention_bias); the text encoder implements UMT5");
    }
    const auto& bias = require(w, b0 + "0.SelfAttention.relative_attention_bias.weight", 2);
    c.num_buckets = bias.size(0);
    c.num_heads = bias.size(1);
    const auto& q = require(w, b0 + "0.SelfAttention.q.weight", 2);
    LIPAR_CHECK(c.num_heads > 0 && q.size(0) % c.num_heads == 0, StatusCode::FormatError,
                "UMT5 q weight ", shape_string(q.sizes()), " does not split into ", c.num_heads,
                " heads (from relative_attention_bias ", shape_string(bias.sizes()), ")");
    c.d_kv = q.size(0) / c.num_heads;
    c.d_ff = require(w, b0 + "1.DenseReluDense.wi_0.weight", 2).size(0);
    return c;
}

Umt5Weights read_umt5_weights(const std::string& path_in) {
    fs::path path(path_in);
    std::error_code ec;
    LIPAR_CHECK(fs::exists(path, ec), StatusCode::NotFound, "UMT5 weights '", path_in,
                "' do not exist");
    if (fs::is_directory(path, ec))
        path = find_in_directory(path);
    const std::string name = path.filename().string();

    Umt5Weights out;
    io::TensorMap raw;
    bool hugging_face = false;
    if (ends_with(name, ".index.json")) {
        raw = read_sharded(path, &out.description);
        hugging_face = true;
    } else if (ends_with(name, ".safetensors")) {
        raw = io::read_safetensors(path.string(),
                                   [](const std::string& n) { return !is_unused_name(n); });
        out.description = "safetensors " + path.string();
        hugging_face = true;
    } else {
        raw = io::load_checkpoint(path.string());
        out.description = "checkpoint " + path.string();
    }
    out.tensors = canonical_umt5_weights(std::move(raw));
    out.config = detect_umt5_config(out.tensors);
    if (hugging_face)
        apply_hf_config(path.parent_path(), out.config);
    out.config.validate();
    return out;
}

Umt5Encoder load_umt5_encoder(const std::string& path, const torch::TensorOptions& options) {
    check_umt5_dtype(torch::typeMetaToScalarType(options.dtype()));  // before reading gigabytes
    Umt5Weights weights = read_umt5_weights(path);
    LIPAR_LOG_INFO("UMT5 text encoder from ", weights.description, ": ",
                   weights.config.to_string());
    Umt5Encoder model(weights.config, options);
    io::apply_weights(*model, weights.tensors);
    return model;
}

}  // namespace lipar::model
