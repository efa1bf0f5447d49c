#include "model/text/prompt_cache.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "io/safetensors.h"
#include "model/text/text_clean.h"

namespace fs = std::filesystem;

namespace lipar::model {

namespace {

constexpr const char* kFormat = "lipar-prompt-embedding-1";
constexpr const char* kTensorName = "embedding";

uint64_t fnv1a(const std::string& data, uint64_t basis) {
    uint64_t h = basis;
    for (unsigned char c : data) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    // splitmix64 finalizer: spreads FNV's weak high bits.
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

std::string hex64(uint64_t v) {
    char buffer[17];
    std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(v));
    return buffer;
}

}  // namespace

std::string default_prompt_cache_directory() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') {
        return (fs::path(xdg) / "lipar-studio" / "prompts").string();
    }
    if (const char* home = std::getenv("HOME"); home && *home) {
        return (fs::path(home) / ".cache" / "lipar-studio" / "prompts").string();
    }
    std::error_code ec;
    const fs::path tmp = fs::temp_directory_path(ec);
    return ((ec ? fs::path("/tmp") : tmp) / "lipar-studio-prompts").string();
}

PromptCache::PromptCache(std::string pack_id, int64_t text_len, PromptCacheOptions options)
    : m_pack_id(std::move(pack_id)),
      m_text_len(text_len),
      m_memory_entries(options.memory_entries),
      m_directory(options.directory.empty() ? default_prompt_cache_directory() : options.directory),
      m_disk_enabled(options.use_disk) {
    LIPAR_CHECK(text_len >= 1, StatusCode::InvalidArgument, "text length must be at least 1, got ",
                text_len);
}

std::string PromptCache::key(const std::string& prompt) const {
    // Length-prefixed fields: no two (pack, text_len, prompt) triples give the same byte string.
    const std::string normalized = clean_prompt(prompt);
    const std::string data = str_cat(m_pack_id.size(), ':', m_pack_id, '|', m_text_len, '|',
                                     normalized.size(), ':', normalized);
    return hex64(fnv1a(data, 0xcbf29ce484222325ull)) + hex64(fnv1a(data, 0x84222325cbf29ce4ull));
}

std::string PromptCache::file_path(const std::string& prompt) const {
    return (fs::path(m_directory) / (key(prompt) + ".safetensors")).string();
}

PromptCacheStats PromptCache::stats() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_stats;
}

void PromptCache::clear_memory() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_lru.clear();
    m_index.clear();
}

void PromptCache::remember(const std::string& key, const torch::Tensor& embedding) {
    if (m_memory_entries == 0)
        return;
    auto it = m_index.find(key);
    if (it != m_index.end())
        m_lru.erase(it->second);
    m_lru.emplace_front(key, embedding);
    m_index[key] = m_lru.begin();
    while (m_lru.size() > m_memory_entries) {
        m_index.erase(m_lru.back().first);
        m_lru.pop_back();
    }
}

torch::Tensor PromptCache::read_file(const std::string& path, const std::string& normalized) {
    const auto header = io::read_safetensors_header(path);
    auto meta = [&](const char* name) {
        auto it = header.metadata.find(name);
        return it == header.metadata.end() ? std::string() : it->second;
    };
    // A different format, pack, prompt or length is a stale entry or a hash collision.
    if (meta("format") != kFormat || meta("pack") != m_pack_id || meta("prompt") != normalized ||
        meta("text_len") != std::to_string(m_text_len)) {
        fail(StatusCode::FormatError, "its metadata belongs to another prompt, pack or length");
    }
    auto tensors = io::read_safetensors(path);
    auto it = tensors.find(kTensorName);
    LIPAR_CHECK(it != tensors.end(), StatusCode::FormatError, "it has no '", kTensorName,
                "' tensor");
    const auto& rows = it->second;
    LIPAR_CHECK(rows.dim() == 2 && rows.size(0) <= m_text_len && rows.size(1) > 0,
                StatusCode::FormatError, "'", kTensorName, "' has shape ",
                shape_string(rows.sizes()), ", expected at most [", m_text_len, ", D]");
    auto full = torch::zeros({m_text_len, rows.size(1)}, rows.options());
    full.slice(0, 0, rows.size(0)).copy_(rows);
    return full;
}

void PromptCache::write_file(const std::string& path,
                             const std::string& normalized,
                             const torch::Tensor& embedding) {
    // Trailing all-zero rows (the padding) are not stored.
    const auto nonzero_rows = embedding.ne(0).any(1).nonzero();
    const int64_t rows = nonzero_rows.numel() ? nonzero_rows.max().item<int64_t>() + 1 : 0;
    std::error_code ec;
    fs::create_directories(m_directory, ec);
    LIPAR_CHECK(!ec, StatusCode::IoError, "cannot create '", m_directory, "': ", ec.message());
    io::write_safetensors(path, {{kTensorName, embedding.slice(0, 0, rows).contiguous()}},
                          {{"format", kFormat},
                           {"pack", m_pack_id},
                           {"prompt", normalized},
                           {"text_len", std::to_string(m_text_len)}});
}

torch::Tensor PromptCache::get_or_compute(const std::string& prompt, const Compute& compute) {
    const std::string k = key(prompt);
    const std::string normalized = clean_prompt(prompt);
    const std::string path = (fs::path(m_directory) / (k + ".safetensors")).string();
    bool disk = false;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (auto it = m_index.find(k); it != m_index.end()) {
            m_lru.splice(m_lru.begin(), m_lru, it->second);
            ++m_stats.memory_hits;
            return it->second->second;
        }
        disk = m_disk_enabled;
    }

    std::error_code ec;
    if (disk && fs::exists(path, ec)) {
        try {
            auto embedding = read_file(path, normalized);
            std::lock_guard<std::mutex> lock(m_mutex);
            ++m_stats.disk_hits;
            remember(k, embedding);
            return embedding;
        } catch (const std::exception& e) {
            LIPAR_LOG_WARN("prompt cache: ignoring '", path, "' (", e.what(), "); recomputing");
            std::lock_guard<std::mutex> lock(m_mutex);
            ++m_stats.ignored_files;
        }
    }

    torch::Tensor embedding = compute();
    LIPAR_CHECK(embedding.defined() && embedding.dim() == 2 && embedding.size(0) == m_text_len,
                StatusCode::ShapeMismatch, "a prompt embedding must be [", m_text_len, ", D], got ",
                embedding.defined() ? shape_string(embedding.sizes()) : std::string("none"));
    embedding = embedding.detach().to(torch::kCPU).contiguous();
    if (disk) {
        try {
            write_file(path, normalized, embedding);
        } catch (const std::exception& e) {
            LIPAR_LOG_WARN("prompt cache: cannot write '", path, "' (", e.what(),
                           "); keeping prompt embeddings in memory only");
            std::lock_guard<std::mutex> lock(m_mutex);
            m_disk_enabled = false;
        }
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_stats.misses;
    remember(k, embedding);
    return embedding;
}

}  // namespace lipar::model
