#include "pipeline/prompt_conditioner.h"

#include <functional>

#include "core/device.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "pipeline/model_pack.h"

namespace lipar::pipeline {

namespace {

uint64_t fnv1a(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

class HashedConditioner : public PromptConditioner {
public:
    HashedConditioner(int64_t len, int64_t dim, torch::Device device)
        : m_len(len), m_dim(dim), m_device(device) {}
    torch::Tensor embed(const std::string& prompt) override {
        auto gen = at::detail::createCPUGenerator(fnv1a(prompt));
        return torch::randn({1, m_len, m_dim}, gen).to(m_device);
    }
    std::string kind() const override { return "hashed"; }

private:
    int64_t m_len, m_dim;
    torch::Device m_device;
};

class EmbeddingsConditioner : public PromptConditioner {
public:
    EmbeddingsConditioner(const std::string& path, int64_t dim, torch::Device device)
        : m_path(path), m_device(device) {
        m_table = io::read_safetensors(path);
        LIPAR_CHECK(!m_table.empty(), StatusCode::FormatError, "prompt embeddings file ", path,
                    " holds no tensors");
        for (auto& [name, t] : m_table) {
            if (t.dim() == 2) t = t.unsqueeze(0);
            LIPAR_CHECK(t.dim() == 3 && t.size(0) == 1 && t.size(2) == dim,
                        StatusCode::ShapeMismatch, "prompt embedding '", name, "' in ", path,
                        " has shape ", shape_string(t.sizes()), ", expected [L, ", dim, "]");
        }
    }
    torch::Tensor embed(const std::string& prompt) override {
        auto it = m_table.find(prompt);
        if (it == m_table.end()) {
            std::string known;
            for (const auto& [name, t] : m_table) known += (known.empty() ? "'" : ", '") + name + "'";
            fail(StatusCode::NotFound, "prompt '", prompt, "' has no precomputed embedding in ",
                 m_path, " (known: ", known, ")");
        }
        return it->second.to(m_device, torch::kFloat32);
    }
    std::string kind() const override { return "embeddings"; }

private:
    std::string m_path;
    torch::Device m_device;
    io::TensorMap m_table;
};

}  // namespace

std::unique_ptr<PromptConditioner> make_hashed_conditioner(int64_t text_len, int64_t text_dim,
                                                           const torch::Device& device) {
    return std::make_unique<HashedConditioner>(text_len, text_dim, device);
}

std::unique_ptr<PromptConditioner> make_embeddings_conditioner(const std::string& path,
                                                               int64_t text_dim,
                                                               const torch::Device& device) {
    return std::make_unique<EmbeddingsConditioner>(path, text_dim, device);
}

std::unique_ptr<PromptConditioner> make_conditioner(const ModelPack& pack, int64_t text_dim,
                                                    const torch::Device& device,
                                                    const std::string& cache_dir) {
    if (pack.text_kind == "hashed") return make_hashed_conditioner(pack.text_len, text_dim, device);
    if (pack.text_kind == "embeddings") {
        return make_embeddings_conditioner(pack.embeddings, text_dim, device);
    }
    fail(StatusCode::Unsupported, "text encoder kind '", pack.text_kind,
         "' is not available in this build");
}

}  // namespace lipar::pipeline
