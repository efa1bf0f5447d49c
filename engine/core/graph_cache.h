#pragma once
// CUDA graphs of repeated GPU work, keyed by what fixes its shape and addresses.
//
// A denoising pass of the DiT is ~5,000 small kernels; launched one by one from eager LibTorch it
// costs ~20 us of host time each, so a pruned pass (little device work) is bound by the host. A
// CUDA graph replays the whole pass with one launch. GraphCache::run does this for any function
// of tensors:
//
//   - the inputs are copied into static buffers of the key (the only tensors whose contents may
//     change between replays; everything else the function reads, such as weights, a KV cache or
//     prompt K/V, must keep its address and be named by the key or the epoch);
//   - the first call of a key runs eagerly (shapes are seen once outside capture: cuDNN plans,
//     library workspaces), the second captures on a side stream and replays, later calls replay;
//   - the output is cloned off the graph's static output (graphs of one cache share a memory
//     pool, so a graph's output is only valid until another graph of the cache replays);
//   - a new epoch (say, a reallocated KV cache or a new prompt) drops every graph;
//   - any failure to capture turns graphs off for this cache (logged once) and the work runs
//     eagerly: the results are the same either way.
//
// Without CUDA (the CPU build, or CPU tensors) run() is the eager call. Engine thread only.

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

namespace lipar {

class GraphCache {
public:
    using Body = std::function<torch::Tensor(const std::vector<torch::Tensor>& inputs)>;
    struct Stats {
        int64_t eager = 0;     // calls run eagerly (first sight of a key, or graphs off)
        int64_t captures = 0;  // graphs captured
        int64_t replays = 0;   // calls answered by a replay (the capturing call included)
        int64_t failures = 0;  // captures that failed (graphs then off)
    };

    explicit GraphCache(bool enabled = true);
    ~GraphCache();
    GraphCache(const GraphCache&) = delete;
    GraphCache& operator=(const GraphCache&) = delete;

    // Whether calls on this device may be graphed: a CUDA build, a CUDA device, enabled, no
    // earlier capture failure, inference (no autograd).
    bool active(const torch::Device& device) const;
    // The same without the autograd condition (for reports).
    bool usable(const torch::Device& device) const;
    void set_enabled(bool enabled);
    bool enabled() const { return m_enabled; }

    // body(inputs) — or its graph. key: what fixes shapes and addresses besides the inputs' own
    // shapes and dtypes (added here). epoch: addresses every graph of the cache depends on; a
    // change drops them all. keep_alive: tensors the body reads by address that must outlive the
    // graphs (held with them).
    torch::Tensor run(const std::vector<int64_t>& key, const std::vector<int64_t>& epoch,
                      const std::vector<torch::Tensor>& inputs, const Body& body,
                      std::vector<torch::Tensor> keep_alive = {});

    void clear();
    size_t size() const { return m_entries.size(); }
    const Stats& stats() const { return m_stats; }

private:
    struct Entry;
    bool capture(Entry& entry, const Body& body);  // false: failed, graphs now off

    bool m_enabled;
    bool m_failed = false;
    bool m_side_warm = false;
    std::vector<int64_t> m_epoch;
    std::map<std::vector<int64_t>, std::unique_ptr<Entry>> m_entries;
    Stats m_stats;
    struct Shared;  // CUDA objects (side stream, memory pool), absent without CUDA
    std::unique_ptr<Shared> m_shared;
};

// "3 graphs captured, 21 passes replayed, 4 eager" (or "off").
std::string graph_stats_line(const GraphCache::Stats& stats, bool active);

}  // namespace lipar
