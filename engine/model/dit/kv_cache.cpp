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
    m_k.resize(static_cast<size_t>(layers));
    m_v.resize(static_cast<size_t>(layers));
}

void KvCache::set_window(const KvWindow& window) { m_window = window; }

void KvCache::ensure_capacity(int64_t batch, int64_t tokens, bool exact) {
    if (m_batch != 0 && batch != m_batch) {
        LIPAR_CHECK(m_committed == 0, StatusCode::ShapeMismatch, "KV cache holds batch ", m_batch,
                    ", a pass brought batch ", batch);
        m_capacity = 0;
    }
    m_batch = batch;
    if (tokens <= m_capacity) return;
    m_staging_tag = 0;
    const int64_t capacity = exact ? tokens : std::max(tokens, m_capacity + m_capacity / 2);
    for (size_t l = 0; l < m_k.size(); ++l) {
        auto k = torch::empty({batch, capacity, m_heads, m_head_dim}, m_options);
        auto v = torch::empty({batch, capacity, m_heads, m_head_dim}, m_options);
        if (m_committed > 0 && m_k[l].defined()) {
            k.narrow(1, 0, m_committed).copy_(m_k[l].narrow(1, 0, m_committed));
            v.narrow(1, 0, m_committed).copy_(m_v[l].narrow(1, 0, m_committed));
        }
        m_k[l] = k;
        m_v[l] = v;
    }
    m_capacity = capacity;
}

void KvCache::reserve(int64_t batch, int64_t tokens) { ensure_capacity(batch, tokens, true); }

std::pair<torch::Tensor, torch::Tensor> KvCache::staging(int64_t layer, int64_t batch, int64_t n) {
    if (layer == 0) {
        m_staged = n;
        ensure_capacity(batch, m_committed + n);
    }
    LIPAR_CHECK(n == m_staged && layer >= 0 && layer < m_layers, StatusCode::Internal,
                "KV cache: layer ", layer, " staged ", n, " tokens, layer 0 staged ", m_staged);
    return {m_k[static_cast<size_t>(layer)].narrow(1, m_committed, n),
            m_v[static_cast<size_t>(layer)].narrow(1, m_committed, n)};
}

std::pair<torch::Tensor, torch::Tensor> KvCache::staged_keys_values(int64_t layer) const {
    const int64_t len = m_committed + m_staged;
    return {m_k[static_cast<size_t>(layer)].narrow(1, 0, len),
            m_v[static_cast<size_t>(layer)].narrow(1, 0, len)};
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
    int64_t total = 0;
    for (const auto& f : frames) total += f.tokens;
    LIPAR_CHECK(total == m_staged, StatusCode::Internal, "KV cache commit of ", total,
                " tokens but ", m_staged, " are staged");
    int64_t offset = m_committed;
    for (auto f : frames) {
        f.offset = offset;
        offset += f.tokens;
        m_frames.push_back(f);
    }
    m_committed = offset;
    m_staged = 0;
    m_staging_tag = 0;
    evict();
}

void KvCache::evict() {
    if (m_window.recent_frames <= 0) return;
    const int64_t count = static_cast<int64_t>(m_frames.size());
    const int64_t sink = std::min(m_window.sink_frames, count);
    if (count <= sink + m_window.recent_frames) return;
    const int64_t first_kept = count - m_window.recent_frames;
    const int64_t dst = sink > 0 ? m_frames[static_cast<size_t>(sink - 1)].offset +
                                       m_frames[static_cast<size_t>(sink - 1)].tokens
                                 : 0;
    const int64_t src = m_frames[static_cast<size_t>(first_kept)].offset;
    const int64_t len = m_committed - src;
    // Move [src, src + len) left to dst in chunks no longer than the shift, so that no chunk
    // overlaps its destination: no temporary (no allocation of a new size each block).
    const int64_t shift = src - dst;
    for (size_t l = 0; l < m_k.size() && shift > 0; ++l) {
        for (int64_t off = 0; off < len; off += shift) {
            const int64_t n = std::min(shift, len - off);
            m_k[l].narrow(1, dst + off, n).copy_(m_k[l].narrow(1, src + off, n));
            m_v[l].narrow(1, dst + off, n).copy_(m_v[l].narrow(1, src + off, n));
        }
    }
    std::vector<CachedFrame> kept(m_frames.begin(), m_frames.begin() + sink);
    for (int64_t i = first_kept; i < count; ++i) {
        auto f = m_frames[static_cast<size_t>(i)];
        f.offset = f.offset - src + dst;
        kept.push_back(f);
    }
    m_frames = std::move(kept);
    m_committed = dst + len;
}

void KvCache::discard_staged() { m_staged = 0; }

void KvCache::reset() {
    m_staging_tag = 0;
    m_frames.clear();
    m_committed = 0;
    m_staged = 0;
}

int64_t KvCache::memory_bytes() const {
    int64_t bytes = 0;
    for (size_t l = 0; l < m_k.size(); ++l) {
        if (m_k[l].defined()) bytes += 2 * m_k[l].numel() * m_k[l].element_size();
    }
    return bytes;
}

int64_t KvCache::buffer_address() const {
    if (m_k.empty() || !m_k[0].defined()) return 0;
    return reinterpret_cast<int64_t>(m_k[0].data_ptr());
}

torch::Tensor KvCache::keys(int64_t layer) const {
    return m_k[static_cast<size_t>(layer)].narrow(1, 0, m_committed);
}

torch::Tensor KvCache::values(int64_t layer) const {
    return m_v[static_cast<size_t>(layer)].narrow(1, 0, m_committed);
}

torch::Tensor causal_forward(WanDitImpl& dit, const torch::Tensor& x, const torch::Tensor& t,
                             const CrossAttnCache& cross, KvCache& cache, int64_t start_frame,
                             CacheWrite write, const RopeTable* rope) {
    torch::NoGradGuard no_grad;
    LIPAR_CHECK(write == CacheWrite::Transient || write == CacheWrite::Commit,
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
    torch::Tensor out;
    try {
        out = dit.forward_tokens(tokens, time, cross, &cache);
    } catch (...) {
        cache.discard_staged();
        throw;
    }
    if (write == CacheWrite::Commit) {
        std::vector<CachedFrame> committed;
        for (int64_t f = 0; f < frames; ++f) committed.push_back({start_frame + f, 0, per_frame});
        cache.commit(committed);
    } else {
        cache.discard_staged();
    }
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
