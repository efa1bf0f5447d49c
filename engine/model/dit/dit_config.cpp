#include "model/dit/dit_config.h"

#include <regex>
#include <set>
#include <sstream>

#include "core/device.h"
#include "core/error.h"

namespace lipar::model {

int64_t DitConfig::parameter_count() const {
    const int64_t attn = 4 * (dim * dim + dim) + 2 * dim;  // q k v o + norm_q norm_k
    const int64_t block = 2 * attn + 6 * dim + 2 * dim + (dim * ffn_dim + ffn_dim) +
                          (ffn_dim * dim + dim);
    const int64_t patch_embed = dim * in_channels * patch_volume() + dim;
    const int64_t text = text_dim * dim + dim + dim * dim + dim;
    const int64_t time = freq_dim * dim + dim + dim * dim + dim + dim * 6 * dim + 6 * dim;
    const int64_t head = 2 * dim + dim * out_channels * patch_volume() + out_channels * patch_volume();
    return num_layers * block + patch_embed + text + time + head;
}

void DitConfig::validate() const {
    auto positive = [](int64_t v, const char* name) {
        LIPAR_CHECK(v > 0, StatusCode::InvalidArgument, "DiT config: ", name, " must be > 0, got ", v);
    };
    positive(dim, "dim");
    positive(ffn_dim, "ffn_dim");
    positive(num_heads, "num_heads");
    positive(num_layers, "num_layers");
    positive(in_channels, "in_channels");
    positive(out_channels, "out_channels");
    positive(text_dim, "text_dim");
    positive(freq_dim, "freq_dim");
    LIPAR_CHECK(freq_dim % 2 == 0, StatusCode::InvalidArgument, "DiT config: freq_dim must be even");
    LIPAR_CHECK(dim % num_heads == 0, StatusCode::InvalidArgument, "DiT config: dim ", dim,
                " is not divisible by num_heads ", num_heads);
    LIPAR_CHECK(head_dim() % 2 == 0 && head_dim() >= 12, StatusCode::InvalidArgument,
                "DiT config: head_dim ", head_dim(), " must be even and >= 12 for 3D RoPE");
    for (int64_t p : patch) positive(p, "patch");
}

std::string DitConfig::describe() const {
    std::ostringstream os;
    os << "dim " << dim << ", ffn " << ffn_dim << ", heads " << num_heads << ", layers "
       << num_layers << ", channels " << in_channels << "->" << out_channels << ", text_dim "
       << text_dim << ", patch " << patch[0] << "x" << patch[1] << "x" << patch[2] << " ("
       << parameter_count() / 1e6 << "M params)";
    return os.str();
}

DitConfig DitConfig::wan_1_3b() { return DitConfig{}; }

DitConfig DitConfig::tiny() {
    DitConfig c;
    c.dim = 256;
    c.ffn_dim = 512;
    c.num_heads = 2;
    c.num_layers = 2;
    c.text_dim = 64;
    c.text_len = 16;
    return c;
}

DitConfig DitConfig::nano() {
    DitConfig c;
    c.dim = 256;
    c.ffn_dim = 768;
    c.num_heads = 4;
    c.num_layers = 4;
    c.text_dim = 128;
    c.text_len = 24;
    return c;
}

DitConfig DitConfig::by_name(const std::string& name) {
    if (name == "tiny") return tiny();
    if (name == "nano") return nano();
    if (name == "wan-1.3b" || name == "wan2.1-1.3b") return wan_1_3b();
    fail(StatusCode::InvalidArgument, "unknown DiT config '", name, "' (expected tiny, nano or wan-1.3b)");
}

DitConfig DitConfig::from_weights(const std::map<std::string, torch::Tensor>& w, int64_t head_dim) {
    auto get = [&](const std::string& name, int64_t dims) -> const torch::Tensor& {
        auto it = w.find(name);
        LIPAR_CHECK(it != w.end(), StatusCode::NotFound, "DiT weights lack '", name,
                    "' (is this a Wan2.1 DiT checkpoint?)");
        LIPAR_CHECK(it->second.dim() == dims, StatusCode::ShapeMismatch, "DiT weight '", name,
                    "' has shape ", shape_string(it->second.sizes()), ", expected ", dims, " dims");
        // An empty tensor could claim any size in its other dimensions without data behind it.
        LIPAR_CHECK(it->second.numel() > 0, StatusCode::ShapeMismatch, "DiT weight '", name,
                    "' is empty (shape ", shape_string(it->second.sizes()), ")");
        return it->second;
    };
    DitConfig c;
    const auto& pe = get("patch_embedding.weight", 5);
    c.dim = pe.size(0);
    c.in_channels = pe.size(1);
    c.patch = {pe.size(2), pe.size(3), pe.size(4)};
    c.text_dim = get("text_embedding.0.weight", 2).size(1);
    c.freq_dim = get("time_embedding.0.weight", 2).size(1);
    c.ffn_dim = get("blocks.0.ffn.0.weight", 2).size(0);
    const auto& head = get("head.head.weight", 2);
    LIPAR_CHECK(head.size(0) % c.patch_volume() == 0, StatusCode::ShapeMismatch,
                "head.head.weight has ", head.size(0), " outputs, not a multiple of the patch volume ",
                c.patch_volume());
    c.out_channels = head.size(0) / c.patch_volume();
    std::set<int64_t> layers;
    static const std::regex block_re(R"(^blocks\.(\d+)\.)");
    for (const auto& [name, t] : w) {
        std::smatch m;
        if (!std::regex_search(name, m, block_re)) continue;
        LIPAR_CHECK(m[1].length() <= 6, StatusCode::FormatError, "DiT weight '", name,
                    "' has an implausible block index");
        layers.insert(std::stoll(m[1].str()));
    }
    c.num_layers = static_cast<int64_t>(layers.size());
    LIPAR_CHECK(c.num_layers > 0 && *layers.rbegin() == c.num_layers - 1, StatusCode::FormatError,
                "DiT weights have non-contiguous block indices");
    LIPAR_CHECK(head_dim > 0, StatusCode::InvalidArgument, "DiT head_dim must be > 0, got ", head_dim);
    const int64_t hd = (c.dim % head_dim == 0) ? head_dim : 0;
    LIPAR_CHECK(hd > 0, StatusCode::InvalidArgument, "DiT dim ", c.dim,
                " is not a multiple of head_dim ", head_dim, "; give the head count explicitly");
    c.num_heads = c.dim / hd;
    c.validate();
    return c;
}

}  // namespace lipar::model
