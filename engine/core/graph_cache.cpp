#include "core/graph_cache.h"

#include <sstream>

#include "core/log.h"

#ifdef LIPAR_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace lipar {

namespace {
// Distinct shapes a stream meets are few (kept-token buckets x cache lengths); past this many the
// cache starts over rather than hold graphs of shapes that no longer occur.
constexpr size_t kMaxEntries = 96;
}  // namespace

struct GraphCache::Entry {
    std::vector<torch::Tensor> statics;
    std::vector<torch::Tensor> keep_alive;
    torch::Tensor out;  // the graph's static output
#ifdef LIPAR_HAVE_CUDA
    std::unique_ptr<at::cuda::CUDAGraph> graph;  // destroyed first (declared last)
#endif
};

struct GraphCache::Shared {
#ifdef LIPAR_HAVE_CUDA
    c10::optional<c10::cuda::CUDAStream> side;
    bool has_pool = false;
    decltype(std::declval<at::cuda::CUDAGraph&>().pool()) pool{};
#endif
};

GraphCache::GraphCache(bool enabled) : m_enabled(enabled), m_shared(std::make_unique<Shared>()) {}

GraphCache::~GraphCache() { clear(); }

void GraphCache::set_enabled(bool enabled) {
    if (!enabled) clear();
    m_enabled = enabled;
}

bool GraphCache::active(const torch::Device& device) const {
    return usable(device) && !torch::GradMode::is_enabled();
}

bool GraphCache::usable(const torch::Device& device) const {
#ifdef LIPAR_HAVE_CUDA
    return m_enabled && !m_failed && device.is_cuda();
#else
    (void)device;
    return false;
#endif
}

void GraphCache::clear() {
    m_entries.clear();
    m_epoch.clear();
#ifdef LIPAR_HAVE_CUDA
    // Every graph that shared the pool is gone: the next capture starts a new one.
    m_shared->has_pool = false;
#endif
}

torch::Tensor GraphCache::run(const std::vector<int64_t>& key, const std::vector<int64_t>& epoch,
                              const std::vector<torch::Tensor>& inputs, const Body& body,
                              std::vector<torch::Tensor> keep_alive) {
    if (inputs.empty() || !active(inputs[0].device())) {
        ++m_stats.eager;
        return body(inputs);
    }
    if (epoch != m_epoch) {
        clear();
        m_epoch = epoch;
    }
    std::vector<int64_t> full = key;
    for (const auto& t : inputs) {
        full.push_back(static_cast<int64_t>(t.scalar_type()));
        full.push_back(t.device().index());
        full.push_back(t.dim());
        for (auto s : t.sizes()) full.push_back(s);
    }
    auto it = m_entries.find(full);
    if (it == m_entries.end()) {
        if (m_entries.size() >= kMaxEntries) {
            clear();
            m_epoch = epoch;
        }
        auto entry = std::make_unique<Entry>();
        for (const auto& t : inputs) entry->statics.push_back(t.clone(at::MemoryFormat::Contiguous));
        entry->keep_alive = std::move(keep_alive);
        ++m_stats.eager;
        auto out = body(entry->statics);
        m_entries.emplace(std::move(full), std::move(entry));
        return out;
    }
    Entry& e = *it->second;
    for (size_t i = 0; i < inputs.size(); ++i) e.statics[i].copy_(inputs[i], /*non_blocking=*/true);
#ifdef LIPAR_HAVE_CUDA
    if (!e.graph) {
        if (!capture(e, body)) {
            auto statics = e.statics;
            clear();
            ++m_stats.eager;
            return body(statics);
        }
    }
    e.graph->replay();
    ++m_stats.replays;
    return e.out.clone();
#else
    ++m_stats.eager;
    return body(e.statics);
#endif
}

bool GraphCache::capture(Entry& e, const Body& body) {
#ifdef LIPAR_HAVE_CUDA
    auto& sh = *m_shared;
    const auto index = e.statics[0].device().index();
    auto current = c10::cuda::getCurrentCUDAStream(index);
    if (!sh.side) sh.side = c10::cuda::getStreamFromPool(false, index);
    auto side = *sh.side;
    // The side stream starts after everything queued so far (the static inputs' copies).
    at::cuda::CUDAEvent ready;
    ready.record(current);
    ready.block(side);
    auto graph = std::make_unique<at::cuda::CUDAGraph>();
    std::string failure;
    {
        c10::cuda::CUDAStreamGuard guard(side);
        bool begun = false;
        try {
            if (!m_side_warm) {
                // Library state that is made per stream on first use (cuBLAS workspaces) is made
                // here, outside the capture.
                body(e.statics);
                m_side_warm = true;
            }
            // Thread-local capture: other threads (a prompt being encoded) may use CUDA freely.
            if (sh.has_pool) {
                graph->capture_begin(sh.pool, cudaStreamCaptureModeThreadLocal);
            } else {
                graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
            }
            begun = true;
            e.out = body(e.statics);
            begun = false;
            graph->capture_end();
        } catch (const std::exception& ex) {
            failure = ex.what();
            if (begun) {
                try {
                    graph->capture_end();
                } catch (...) {
                }
            }
            (void)cudaGetLastError();  // an invalidated capture leaves a non-sticky error
        }
    }
    at::cuda::CUDAEvent done;
    done.record(side);
    done.block(current);
    if (!failure.empty()) {
        ++m_stats.failures;
        m_failed = true;
        e.out = torch::Tensor();
        const auto line = failure.substr(0, failure.find('\n'));
        LIPAR_LOG_WARN("CUDA graphs off for this stream: capturing a pass failed (", line,
                       "); passes run eagerly (same results, more host time)");
        return false;
    }
    if (!sh.has_pool) {
        sh.pool = graph->pool();
        sh.has_pool = true;
    }
    e.graph = std::move(graph);
    ++m_stats.captures;
    return true;
#else
    (void)e;
    (void)body;
    return false;
#endif
}

std::string graph_stats_line(const GraphCache::Stats& s, bool active) {
    if (!active && s.captures == 0) return "off";
    std::ostringstream o;
    o << s.captures << " graphs captured, " << s.replays << " passes replayed, " << s.eager
      << " eager";
    if (s.failures > 0) o << ", capture failed (graphs then off)";
    return o.str();
}

}  // namespace lipar
