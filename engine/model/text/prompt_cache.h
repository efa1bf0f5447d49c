#pragma once
// Prompt-embedding cache: an in-memory LRU in front of a directory of safetensors files, so that a
// repeated prompt costs a lookup or a file read instead of a UMT5 pass.
//
// Key: a 128-bit hash of (pack id, clean_prompt(prompt), text_len); the three are also stored in
// each file's metadata and checked on read, so a collision or a stale file is recomputed, never
// served. Files hold only the rows up to the last non-zero one (the rest of a Self-Forcing prompt
// embedding is zero padding) and are written atomically. Unreadable files are ignored with a
// warning, recomputed and overwritten; a cache directory that cannot be written only disables
// the disk tier.
//
// Threading: all methods are thread-safe. The compute function runs outside the lock; two threads
// asking for the same new prompt at once may both compute it.

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace lipar::model {

struct PromptCacheOptions {
    std::string directory;  // empty: default_prompt_cache_directory()
    bool use_disk = true;
    size_t memory_entries = 16;  // 0 disables the memory tier
};

struct PromptCacheStats {
    int64_t memory_hits = 0;
    int64_t disk_hits = 0;
    int64_t misses = 0;         // computed
    int64_t ignored_files = 0;  // unreadable or mismatching files that were recomputed
};

// $XDG_CACHE_HOME/lipar-studio/prompts, else $HOME/.cache/lipar-studio/prompts, else a folder in
// the system temporary directory.
std::string default_prompt_cache_directory();

class PromptCache {
  public:
    using Compute = std::function<torch::Tensor()>;

    // pack_id names the weights (a different text encoder must not share entries).
    PromptCache(std::string pack_id, int64_t text_len, PromptCacheOptions options = {});

    // The embedding [text_len, d_model] of `prompt` on the CPU, from memory, disk or `compute`
    // (which must return [text_len, d_model] on any device; Error(ShapeMismatch) otherwise).
    // The tensor is shared with the cache: treat it as read-only (.to(device) copies).
    torch::Tensor get_or_compute(const std::string& prompt, const Compute& compute);

    // 32 hex digits; also the file name stem.
    std::string key(const std::string& prompt) const;
    std::string file_path(const std::string& prompt) const;

    const std::string& directory() const { return m_directory; }
    PromptCacheStats stats() const;
    void clear_memory();

  private:
    torch::Tensor read_file(const std::string& path, const std::string& normalized);
    void write_file(const std::string& path,
                    const std::string& normalized,
                    const torch::Tensor& embedding);
    void remember(const std::string& key, const torch::Tensor& embedding);

    const std::string m_pack_id;
    const int64_t m_text_len;
    const size_t m_memory_entries;
    std::string m_directory;

    mutable std::mutex m_mutex;  // guards everything below
    bool m_disk_enabled = true;
    std::list<std::pair<std::string, torch::Tensor>> m_lru;  // most recent first
    std::unordered_map<std::string, std::list<std::pair<std::string, torch::Tensor>>::iterator>
        m_index;
    PromptCacheStats m_stats;
};

}  // namespace lipar::model
