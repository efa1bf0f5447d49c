#include "model/dit/kv_cache.h"

#include "core/device.h"
#include "core/error.h"

namespace lipar::model {

KvWindow kv_window(const AttentionWindow& w, int64_t frames_per_block) {
    LIPAR_CHECK(w.sink >= 0 && frames_per_block > 0 && w.recent > frames_per_block,
                StatusCode::InvalidArgument, "attention window [", w.sink, ", ", w.recent,
                "]: recent counts the current block's ", frames_per_block,
                " latent frames and must exceed them");
    return KvWindow{w.sink, w.recent - frames_per_block};
}

KvCache::KvCache(int64_t layers, int64_t heads, int64_t head_dim, KvWindow window,
                 torch::TensorOptions options)
    : m_layers(layers), m_heads(heads), m_head_dim(head_dim), m_window(window), m_options(options) {
    LIPAR_CHECK(window.sink_frames >= 0 && window.recent_frames >= 0, StatusCode::InvalidArgument,
                "KV window sizes must be >= 0");
    LIPAR_CHECK(layers > 0, StatusCode::InvalidArgument, "a KV cache needs at least one layer");
    m_state.resize(static_cast<size_t>(layers));
}

void KvCache::set_window(const KvWindow& window) { m_window = window; }

void KvCache::ensure_capacity(Layer& l, int64_t batch, int64_t tokens, bool exact) {
    if (l.batch != 0 && batch != l.batch) {
        LIPAR_CHECK(l.committed == 0, StatusCode::ShapeMismatch, "KV cache holds batch ", l.batch,
                    ", a pass brought batch ", batch);
        l.capacity = 0;
    }
    l.batch = batch;
    if (tokens <= l.capacity) return;
    m_staging_tag = 0;
    const int64_t capacity = exact ? tokens : std::max(tokens, l.capacity + l.capacity / 2);
    const auto options = l.device ? m_options.device(*l.device) : m_options;
    auto k = torch::empty({batch, capacity, m_heads, m_head_dim}, options);
    auto v = torch::empty({batch, capacity, m_heads, m_head_dim}, options);
    if (l.committed > 0 && l.k.defined()) {
        k.narrow(1, 0, l.committed).copy_(l.k.narrow(1, 0, l.committed));
        v.narrow(1, 0, l.committed).copy_(l.v.narrow(1, 0, l.committed));
    }
    l.k = k;
    l.v = v;
    l.capacity = capacity;
}

void KvCache::place_layers(const std::vector<torch::Device>& devices) {
    LIPAR_CHECK(devices.empty() || static_cast<int64_t>(devices.size()) == m_layers, StatusCode::InvalidArgument,
                "a device for each of the KV cache's ", m_layers, " layers, got ", devices.size());
    for (size_t i = 0; i < m_state.size(); ++i) {
        auto& l = m_state[i];
        const c10::optional<torch::Device> want =
            devices.empty() || devices[i] == m_options.device() ? c10::nullopt : c10::optional<torch::Device>(devices[i]);
        if (want == l.device) continue;
        LIPAR_CHECK(l.staged == 0, StatusCode::Internal, "KV cache layer ", i, " moved while a pass stages K/V");
        // The committed K/V go along (a re-split between blocks); the buffers keep their capacity.
        if (l.k.defined()) {
            const auto to = want ? *want : m_options.device();
            l.k = l.k.to(to);
            l.v = l.v.to(to);
        }
        l.device = want;
    }
    m_staging_tag = 0;
}

torch::Device KvCache::layer_device(int64_t layer) const {
    const auto& l = m_state[static_cast<size_t>(layer)];
    return l.device ? *l.device : m_options.device();
}

void KvCache::reserve(int64_t batch, int64_t tokens) {
    for (auto& l : m_state) ensure_capacity(l, batch, tokens, true);
}

std::pair<torch::Tensor, torch::Tensor> KvCache::staging(int64_t layer, int64_t batch, int64_t n) {
    LIPAR_CHECK(layer >= 0 && layer < m_layers, StatusCode::Internal, "KV cache: no layer ", layer, " of ",
                m_layers);
    auto& l = m_state[static_cast<size_t>(layer)];
    l.staged = n;
    ensure_capacity(l, batch, l.committed + n);
    return {l.k.narrow(1, l.committed, n), l.v.narrow(1, l.committed, n)};
}

std::pair<torch::Tensor, torch::Tensor> KvCache::staged_keys_values(int64_t layer) const {
    const auto& l = m_state[static_cast<size_t>(layer)];
    const int64_t len = l.committed + l.staged;
    return {l.k.narrow(1, 0, len), l.v.narrow(1, 0, len)};
}

std::pair<torch::Tensor, torch::Tensor> KvCache::stage(int64_t layer, const torch::Tensor& k,
                                                       const torch::Tensor& v) {
    auto [ks, vs] = staging(layer, k.size(0), k.size(1));
    // Written in place already (write_slots): nothing to copy.
    auto in_place = [](const torch::Tensor& slot, const torch::Tensor& t) {
        return slot.data_ptr() == t.data_ptr() && slot.sizes() == t.sizes() && slot.strides() == t.strides();
    };
    if (!in_place(ks, k)) ks.copy_(k);
    if (!in_place(vs, v)) vs.copy_(v);
    return staged_keys_values(layer);
}

std::pair<torch::Tensor, torch::Tensor> KvCache::keys_values(int64_t layer, const torch::Tensor&,
                                                             const torch::Tensor& k,
                                                             const torch::Tensor& v) {
    return stage(layer, k, v);
}

void KvCache::commit(const std::vector<CachedFrame>& frames) {
    for (int64_t layer = 0; layer < m_layers; ++layer) commit_layer(layer, frames);
}

void KvCache::commit_layer(int64_t layer, const std::vector<CachedFrame>& frames) {
    auto& l = m_state[static_cast<size_t>(layer)];
    int64_t total = 0;
    for (const auto& f : frames) total += f.tokens;
    LIPAR_CHECK(total == l.staged, StatusCode::Internal, "KV cache commit of ", total, " tokens but ",
                l.staged, " are staged in layer ", layer);
    int64_t offset = l.committed;
    for (auto f : frames) {
        f.offset = offset;
        offset += f.tokens;
        l.frames.push_back(f);
    }
    l.committed = offset;
    l.staged = 0;
    m_staging_tag = 0;
    evict(l);
}

void KvCache::evict(Layer& l) {
    if (m_window.recent_frames <= 0) return;
    const int64_t count = static_cast<int64_t>(l.frames.size());
    const int64_t sink = std::min(m_window.sink_frames, count);
    if (count <= sink + m_window.recent_frames) return;
    const int64_t first_kept = count - m_window.recent_frames;
    const int64_t dst = sink > 0 ? l.frames[static_cast<size_t>(sink - 1)].offset +
                                       l.frames[static_cast<size_t>(sink - 1)].tokens
                                 : 0;
    const int64_t src = l.frames[static_cast<size_t>(first_kept)].offset;
    const int64_t len = l.committed - src;
    // Move [src, src + len) left to dst in chunks no longer than the shift, so that no chunk
    // overlaps its destination: no temporary (no allocation of a new size each block).
    const int64_t shift = src - dst;
    for (int64_t off = 0; shift > 0 && off < len; off += shift) {
        const int64_t n = std::min(shift, len - off);
        l.k.narrow(1, dst + off, n).copy_(l.k.narrow(1, src + off, n));
        l.v.narrow(1, dst + off, n).copy_(l.v.narrow(1, src + off, n));
    }
    std::vector<CachedFrame> kept(l.frames.begin(), l.frames.begin() + sink);
    for (int64_t i = first_kept; i < count; ++i) {
        auto f = l.frames[static_cast<size_t>(i)];
        f.offset = f.offset - src + dst;
        kept.push_back(f);
    }
    l.frames = std::move(kept);
    l.committed = dst + len;
}

void KvCache::discard_staged() {
    for (auto& l : m_state) l.staged = 0;
}

void KvCache::reset() {
    m_staging_tag = 0;
    for (auto& l : m_state) {
        l.frames.clear();
        l.committed = 0;
        l.staged = 0;
    }
}

int64_t KvCache::memory_bytes() const {
    int64_t bytes = 0;
    for (const auto& l : m_state) {
        if (l.k.defined()) bytes += 2 * l.k.numel() * l.k.element_size();
    }
    return bytes;
}

int64_t KvCache::buffer_address() const {
    if (!m_state[0].k.defined()) return 0;
    return reinterpret_cast<int64_t>(m_state[0].k.data_ptr());
}

torch::Tensor KvCache::keys(int64_t layer) const {
    const auto& l = m_state[static_cast<size_t>(layer)];
    return l.k.narrow(1, 0, l.committed);
}

torch::Tensor KvCache::values(int64_t layer) const {
    const auto& l = m_state[static_cast<size_t>(layer)];
    return l.v.narrow(1, 0, l.committed);
}

torch::Tensor causal_forward(WanDitImpl& dit, const torch::Tensor& x, const torch::Tensor& t,
                             const CrossAttnCache& cross, KvCache& cache, int64_t start_frame,
                             CacheWrite write, const RopeTable* rope) {
    torch::NoGradGuard no_grad;
    LIPAR_CHECK(write == CacheWrite::Transient || write == CacheWrite::Commit || write == CacheWrite::CommitDetached,
                StatusCode::InvalidArgument, "causal_forward needs a CacheWrite mode");
    const auto grid = token_grid(dit.config(), x.sizes());
    const int64_t frames = grid[0], per_frame = grid[1] * grid[2];
    auto time = dit.time_conditioning(t);
    LIPAR_CHECK(time.frames() == 1 || time.frames() == frames, StatusCode::ShapeMismatch,
                "timesteps have ", time.frames(), " frames, the block ", frames);
    DitTokens tokens;
    tokens.x = dit.embed_patches(x);
    if (rope && rope->size() == frames * per_frame) {
        tokens.rope = *rope;
    } else {
        tokens.rope = make_rope_table(grid_positions(frames, grid[1], grid[2], start_frame, dit.device()),
                                      dit.config().head_dim());
    }
    if (time.frames() > 1) {
        tokens.frame_of_token =
            torch::arange(frames, torch::TensorOptions(torch::kInt64).device(dit.device()))
                .repeat_interleave(per_frame);
    }
    std::vector<CachedFrame> committed;
    if (write != CacheWrite::Transient) {
        for (int64_t f = 0; f < frames; ++f) committed.push_back({start_frame + f, 0, per_frame});
    }
    torch::Tensor out;
    try {
        if (write == CacheWrite::CommitDetached) {
            // The stream owns the cache; it drains before a reset (KvCache's header).
            dit.forward_tokens_detached(tokens, time, cross, std::shared_ptr<KvProvider>(&cache, [](KvProvider*) {}),
                                        [&cache, committed](int64_t layer) { cache.commit_layer(layer, committed); });
            return {};
        }
        WanDitImpl::LayerHook commit;
        if (write == CacheWrite::Commit) commit = [&](int64_t layer) { cache.commit_layer(layer, committed); };
        out = dit.forward_tokens(tokens, time, cross, &cache, c10::nullopt, commit);
    } catch (...) {
        cache.discard_staged();
        throw;
    }
    if (write == CacheWrite::Transient) cache.discard_staged();
    return dit.unpatchify(out, grid[0], grid[1], grid[2]);
}

torch::Tensor teacher_forcing_mask(int64_t frames, int64_t fpb, int64_t tpf, const KvWindow& w) {
    LIPAR_CHECK(fpb > 0 && frames % fpb == 0, StatusCode::InvalidArgument, "frames (", frames,
                ") must be a multiple of frames_per_block (", fpb, ")");
    // frame-level mask [2F, 2F]: rows/cols 0..F-1 clean, F..2F-1 noisy
    auto m = torch::zeros({2 * frames, 2 * frames}, torch::kBool);
    auto acc = m.accessor<bool, 2>();
    for (int64_t b = 0; b < frames / fpb; ++b) {
        const int64_t start = b * fpb;
        // frames the cache holds when block b runs: sink + most recent `recent` before start
        std::vector<int64_t> cached;
        for (int64_t f = 0; f < start; ++f) {
            const bool sink = f < w.sink_frames;
            const bool recent = w.recent_frames <= 0 || f >= start - w.recent_frames;
            if (sink || recent) cached.push_back(f);
        }
        for (int64_t qf = start; qf < start + fpb; ++qf) {
            for (int64_t part = 0; part < 2; ++part) {
                const int64_t row = part * frames + qf;
                for (int64_t kf = start; kf < start + fpb; ++kf) acc[row][part * frames + kf] = true;
                for (int64_t kf : cached) acc[row][kf] = true;
            }
        }
    }
    return m.repeat_interleave(tpf, 0).repeat_interleave(tpf, 1);
}

}  // namespace lipar::model
