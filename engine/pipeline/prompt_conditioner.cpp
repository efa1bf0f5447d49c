#include "pipeline/prompt_conditioner.h"

#include <algorithm>
#include <filesystem>
#include <functional>

#include "core/device.h"
#include "core/error.h"
#include "core/gpu_memory.h"
#include "core/log.h"
#include "core/timer.h"
#include "io/safetensors.h"
#include "model/text/prompt_cache.h"
#include "model/text/prompt_encoder.h"
#include "model/text/umt5_weights.h"
#include "pipeline/model_pack.h"

namespace lipar::pipeline {

std::string text_files_identity(const std::vector<std::string>& paths) {
    namespace fs = std::filesystem;
    std::string id;
    auto add = [&](const fs::path& p) {
        std::error_code ec;
        const auto size = fs::file_size(p, ec);
        const auto mtime = fs::last_write_time(p, ec).time_since_epoch().count();
        id += p.string() + ":" + (ec ? std::string("?") : std::to_string(size) + ":" + std::to_string(mtime)) + ";";
    };
    for (const auto& path : paths) {
        if (path.empty()) continue;
        std::error_code ec;
        if (fs::is_directory(path, ec)) {
            std::vector<fs::path> files;
            for (const auto& e : fs::directory_iterator(path, ec))
                if (e.is_regular_file(ec)) files.push_back(e.path());
            std::sort(files.begin(), files.end());
            for (const auto& f : files) add(f);
        } else {
            add(path);
        }
    }
    return id;
}

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
    std::string describe() const override {
        return "hashed (untrained pack: a seeded fake embedding per prompt, no text encoder)";
    }

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
    std::string describe() const override { return "precomputed embeddings from " + m_path; }

private:
    std::string m_path;
    torch::Device m_device;
    io::TensorMap m_table;
};

// UMT5-XXL with its SentencePiece tokenizer. Embeddings are cached in memory and on disk by
// (pack, prompt); the encoder is loaded only for a prompt not seen before and released right after
// encoding, so it never stays resident next to the DiT (the 24 GB plan in docs/MEMORY.md).
class Umt5Conditioner : public PromptConditioner {
public:
    Umt5Conditioner(const ModelPack& pack, int64_t text_dim, torch::Device device,
                    const std::string& cache_dir, bool cache_on_disk)
        : m_weights(pack.text_weights),
          m_tokenizer(pack.tokenizer),
          m_text_len(pack.text_len),
          m_text_dim(text_dim),
          m_device(device),
          m_cache(pack.name + "|" + text_files_identity({pack.text_weights, pack.tokenizer}), pack.text_len,
                  model::PromptCacheOptions{cache_dir, cache_on_disk, 16}) {}

    torch::Tensor embed(const std::string& prompt) override {
        auto e = m_cache.get_or_compute(prompt, [&] { return encode(prompt); });
        if (e.dim() == 2) e = e.unsqueeze(0);
        LIPAR_CHECK(e.dim() == 3 && e.size(2) == m_text_dim, StatusCode::ShapeMismatch,
                    "text encoder gives ", shape_string(e.sizes()), ", the DiT takes ", m_text_dim,
                    " features");
        return e.to(m_device, torch::kFloat32);
    }
    std::string kind() const override { return "umt5"; }
    std::string describe() const override {
        const auto s = m_cache.stats();
        return str_cat("UMT5: ", s.misses, " prompt(s) encoded (", static_cast<int64_t>(m_encode_ms),
                       " ms, encoder released after each), ", s.memory_hits, " from memory, ",
                       s.disk_hits, " from the disk cache ", m_cache.directory());
    }

private:
    torch::Tensor encode(const std::string& prompt) {
        // Seconds for the released 11 GB encoder: say so before the stream pauses for it.
        LIPAR_LOG_INFO("encoding a new prompt with UMT5 (loading the encoder; the result is cached)");
        Timer t;
        auto tokenizer = std::make_shared<const model::Tokenizer>(m_tokenizer);
        const auto dtype = m_device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
        auto umt5 = model::load_umt5_encoder(
            m_weights, torch::TensorOptions().device(m_device).dtype(dtype));
        model::PromptEncoder encoder(tokenizer, umt5, m_text_len);
        auto out = encoder.encode(prompt).to(torch::kCPU, torch::kFloat32);
        umt5->release();
        release_cached_gpu_memory();
        const double ms = t.elapsed_ms();
        m_encode_ms += ms;
        LIPAR_LOG_INFO("encoded prompt with UMT5 in ", static_cast<int>(ms), " ms (encoder released)");
        return out;
    }

    std::string m_weights, m_tokenizer;
    int64_t m_text_len, m_text_dim;
    torch::Device m_device;
    model::PromptCache m_cache;
    double m_encode_ms = 0;
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
                                                    const std::string& cache_dir, bool cache_on_disk) {
    if (pack.text_kind == "hashed") return make_hashed_conditioner(pack.text_len, text_dim, device);
    if (pack.text_kind == "embeddings") {
        return make_embeddings_conditioner(pack.embeddings, text_dim, device);
    }
    if (pack.text_kind == "umt5") {
        std::string why;
        LIPAR_CHECK(model::Tokenizer::available(&why), StatusCode::Unsupported,
                    "model pack '", pack.name, "' needs the UMT5 tokenizer, which this build "
                    "cannot load (", why, "); use a pack with precomputed prompt embeddings");
        return std::make_unique<Umt5Conditioner>(pack, text_dim, device, cache_dir, cache_on_disk);
    }
    fail(StatusCode::Unsupported, "text encoder kind '", pack.text_kind,
         "' is not available in this build");
}

}  // namespace lipar::pipeline
