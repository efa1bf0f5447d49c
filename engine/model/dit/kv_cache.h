#pragma once
// Per-layer self-attention KV cache of a causal (Self-Forcing) stream. Keys are stored after RoPE
// at absolute latent-frame positions. The cache holds committed frames, each a run of tokens
// (a full frame, or fewer when tokens were pruned without recovery), laid out contiguously:
//   [ sink frames | most recent frames ][ staged tokens of the block being computed ]
// A forward pass stages its block's K/V right after the committed region and attends to
// everything up to the end of the staged region; the block's last pass (the clean t = 0 pass)
// commits them, after which frames beyond `sink + recent` are evicted oldest-first (the sink stays).
//
// Each layer keeps its own buffers and bookkeeping, and everything a pass does to a layer (stage,
// commit, evict) touches that layer alone: with pipeline stages (parallel/stage_pipeline.h) the
// worker that runs a layer commits it, while the caller already runs the next pass's first layers.
// The whole-cache calls (reset, reserve, commit, discard_staged, set_window) and the queries below
// (layer 0's view) are for the engine thread while no pass is in flight (LayerRunner::drain).

#include <torch/torch.h>

#include <atomic>
#include <vector>

#include "model/dit/wan_dit.h"

namespace lipar::model {

// What the cache keeps: counted in committed frames (the block being computed comes on top).
struct KvWindow {
    int64_t sink_frames = 1;    // first frames of the stream, always kept
    int64_t recent_frames = 0;  // most recent frames kept besides the sink; 0 = keep all
};

// The attention window in the paper's terms (LIPAR's m = [sink, recent]): the sink frames plus the
// `recent` most recent latent frames *including* the current block's. m = [1, 6] with 3-frame
// blocks attends 7 frames (Self-Forcing's local_attn_size 7, sink 1) and keeps 1 + 3 committed
// frames; Self-Forcing's 21-frame window is m = [1, 20]. This is what users, packs and
// EngineConfig speak; the cache keeps kv_window(...).
struct AttentionWindow {
    int64_t sink = 1;
    int64_t recent = 6;
};

// Throws Error(InvalidArgument) unless sink >= 0 and recent > frames_per_block (at least one
// committed frame besides the sink: a window of the block alone is not a causal stream).
KvWindow kv_window(const AttentionWindow& window, int64_t frames_per_block);

struct CachedFrame {
    int64_t frame = 0;   // absolute latent frame index
    int64_t offset = 0;  // first token in the buffers
    int64_t tokens = 0;  // token count
};

class KvCache : public KvProvider {
public:
    KvCache(int64_t layers, int64_t heads, int64_t head_dim, KvWindow window,
            torch::TensorOptions options);

    // KvProvider: stages k/v ([B, n, H, D]) of this layer after the committed tokens and returns
    // views of committed + staged keys/values.
    std::pair<torch::Tensor, torch::Tensor> keys_values(int64_t layer, const torch::Tensor& k_pre,
                                                        const torch::Tensor& k,
                                                        const torch::Tensor& v) override;
    // KvProvider: the staging slot itself (stage() then finds k/v already in place).
    std::pair<torch::Tensor, torch::Tensor> write_slots(int64_t layer, int64_t batch, int64_t n) override {
        return staging(layer, batch, n);
    }
    // Stages explicitly (used by providers that assemble a block's K/V themselves).
    std::pair<torch::Tensor, torch::Tensor> stage(int64_t layer, const torch::Tensor& k,
                                                  const torch::Tensor& v);
    // Each layer's buffers on its own device (the DiT's WanDitImpl::block_devices()), committed K/V
    // moved along (between passes: nothing may be staged). Empty: every layer on the cache's device.
    void place_layers(const std::vector<torch::Device>& devices);
    torch::Device layer_device(int64_t layer) const;
    // Allocates room for `tokens` tokens (committed + staged) of every layer up front, so that the
    // buffers are never regrown (and copied) while a stream runs.
    void reserve(int64_t batch, int64_t tokens);
    // Reserves n staged tokens of a layer ([B, n, H, D] views to fill in place, no extra copy);
    // then attend to staged_keys_values(layer).
    std::pair<torch::Tensor, torch::Tensor> staging(int64_t layer, int64_t batch, int64_t n);
    std::pair<torch::Tensor, torch::Tensor> staged_keys_values(int64_t layer) const;

    // A tag a KV provider may leave on the staging area after a pass: what it wrote there that the
    // block's later passes do not overwrite (LIPAR's recovered slots) stays valid while the tag
    // does. Anything that moves or reallocates the buffers or changes the committed region
    // (commit, eviction, growth, reset) clears it (0).
    uint64_t staging_tag() const { return m_staging_tag.load(); }
    void set_staging_tag(uint64_t tag) { m_staging_tag = tag; }
    // The staged tokens become frames (in staged order; token counts must add up), then eviction:
    // commit() for every layer, commit_layer() for one (a committing pass's per-layer hook).
    void commit(const std::vector<CachedFrame>& frames);
    void commit_layer(int64_t layer, const std::vector<CachedFrame>& frames);
    // Forget the staged tokens (a denoising pass whose K/V must not persist).
    void discard_staged();
    void reset();

    int64_t layers() const { return m_layers; }
    const KvWindow& window() const { return m_window; }
    void set_window(const KvWindow& window);  // applied at the next commit
    // Layer 0's view (every layer's once a pass is complete).
    const std::vector<CachedFrame>& frames() const { return m_state[0].frames; }
    int64_t committed_tokens() const { return m_state[0].committed; }
    int64_t committed_tokens(int64_t layer) const { return m_state[static_cast<size_t>(layer)].committed; }
    // Tokens the buffers hold without growing, and the first layer's key buffer's address (0
    // before allocation): a CUDA graph of a pass stays valid while neither changes.
    int64_t capacity() const { return m_state[0].capacity; }
    int64_t buffer_address() const;
    int64_t staged_tokens() const { return m_state[0].staged; }
    int64_t memory_bytes() const;
    // Committed keys/values of a layer: [B, committed_tokens, H, D] views.
    torch::Tensor keys(int64_t layer) const;
    torch::Tensor values(int64_t layer) const;

private:
    struct Layer {
        c10::optional<torch::Device> device;  // when not the cache's
        torch::Tensor k, v;  // [B, capacity, H, D]
        std::vector<CachedFrame> frames;
        int64_t committed = 0;
        int64_t staged = 0;
        int64_t batch = 0;
        int64_t capacity = 0;
    };
    void ensure_capacity(Layer& layer, int64_t batch, int64_t tokens, bool exact = false);
    void evict(Layer& layer);

    int64_t m_layers, m_heads, m_head_dim;
    KvWindow m_window;
    torch::TensorOptions m_options;
    std::vector<Layer> m_state;
    std::atomic<uint64_t> m_staging_tag{0};
};

// Transient: a denoising pass, its K/V forgotten afterwards. Commit: the clean t = 0 pass keeps
// them (each layer commits as soon as it has run). CommitDetached: a Commit whose output nobody
// reads: no head, nothing returned, and with pipeline stages the call returns once the first stage
// is done while the later ones go on (the next pass queues behind them; LayerRunner::drain waits).
enum class CacheWrite { Invalid = 0, Transient, Commit, CommitDetached };

// One pass of the causal DiT over a block of latents x [B, C, f, H, W] at timesteps t ([B] or
// [B, f]) whose first latent frame has absolute index start_frame. Attends to the cache plus the
// block itself (bidirectional within the block). CacheWrite::Commit keeps the block's K/V (the
// clean t = 0 pass); Transient discards them (denoising steps). Returns the flow [B, C, f, H, W]
// (undefined for CommitDetached).
// rope: the block's table when the caller has it (every token, frame-major), else made here.
torch::Tensor causal_forward(WanDitImpl& dit, const torch::Tensor& x, const torch::Tensor& t,
                             const CrossAttnCache& cross, KvCache& cache, int64_t start_frame,
                             CacheWrite write, const RopeTable* rope = nullptr);

// The bool [N, N] mask of the equivalent full-sequence forward used to verify the streaming path:
// the sequence is [clean frames 0..F-1 | noisy frames 0..F-1] (tokens_per_frame tokens each);
// noisy block b attends to itself and to the clean frames the cache would hold when b runs;
// clean block b attends to itself and the same cached clean frames.
torch::Tensor teacher_forcing_mask(int64_t frames, int64_t frames_per_block,
                                   int64_t tokens_per_frame, const KvWindow& window);

}  // namespace lipar::model
