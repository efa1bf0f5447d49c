#pragma once
// Attention Recovery (LIPAR.md section 3). A pruned token stands for a duplicate of the content at
// its location; full attention would have seen that duplicate's key rotated to the pruned slot's
// own position. So every pruned slot of the block's K/V is filled with the CLEAN (t = 0 pass),
// pre-RoPE key of the reference at its location, rotated by RoPE at the slot's position, and the
// clean value. The reference holds, per layer and location, the last clean K/V computed there; it
// is refreshed by each block's t = 0 pass from the tokens that block kept.
//
// Owned by the engine thread, one per stream (compare mode keeps one per side).

#include <torch/torch.h>

#include <utility>
#include <vector>

#include "lipar/prune_plan.h"
#include "model/dit/kv_cache.h"

namespace lipar::accel {

// The prune plan's index tensors a KV provider uses, on one device (the plan's own tensors where
// they already are): a DiT whose blocks sit on several devices (WanDitImpl::place_blocks).
struct PlanIndices {
    torch::Tensor kept_index, pruned_index, pruned_loc, ref_src, ref_dst, ref_shift_src;
    model::RopeTable rope_pruned;
    static PlanIndices on(const PrunePlan& plan, const torch::Device& device);
};

// Per-layer clean pre-RoPE keys and values at every spatial location: [B, Hg*Wg, H, D].
class ReferenceKv {
public:
    explicit ReferenceKv(int64_t layers = 0) : m_k(static_cast<size_t>(layers)),
                                               m_v(static_cast<size_t>(layers)) {}
    void reset();
    // True when every location holds a clean reference (after a first fully kept frame).
    bool complete() const;
    // Whether the locations pruned by `plan` all have a reference.
    bool covers(const PrunePlan& plan) const;
    // Writes the clean keys (pre-RoPE) and values of the kept tokens of `plan` into the reference
    // (with motion, after moving the reference by the plan's reference shift).
    void refresh(int64_t layer, const PrunePlan& plan, const torch::Tensor& k_pre,
                 const torch::Tensor& v);
    // The same with the plan's indices already on the layer's device.
    void refresh(int64_t layer, const PrunePlan& plan, const PlanIndices& on_device, const torch::Tensor& k_pre,
                 const torch::Tensor& v);
    // Called once per t = 0 pass after every layer was refreshed.
    void mark_refreshed(const PrunePlan& plan);
    // Layer i's reference moved to devices[i] (the DiT's blocks moved there).
    void place_layers(const std::vector<torch::Device>& devices);
    const torch::Tensor& keys(int64_t layer) const { return m_k[static_cast<size_t>(layer)]; }
    const torch::Tensor& values(int64_t layer) const { return m_v[static_cast<size_t>(layer)]; }
    int64_t memory_bytes() const;

private:
    std::vector<torch::Tensor> m_k, m_v;
    std::vector<bool> m_valid;  // per location
};

// KvProvider for a pruned block pass. Stages into the stream's KV cache:
//  - Naive (or Lipar without a complete reference, e.g. the first block): the kept tokens' K/V;
//  - Lipar: the full block, kept slots computed, pruned slots recovered from the reference.
// On the committing t = 0 pass the reference is refreshed with the kept tokens' clean K/V.
class PrunedKvProvider : public model::KvProvider {
public:
    PrunedKvProvider(model::KvCache& cache, ReferenceKv& reference, const PrunePlan& plan,
                     PruneMode mode, bool refresh_reference);
    std::pair<torch::Tensor, torch::Tensor> keys_values(int64_t layer, const torch::Tensor& k_pre,
                                                        const torch::Tensor& k,
                                                        const torch::Tensor& v) override;
    // Without recovery the cache's staging slot (k/v written in place); with it, none (the kept
    // slots are scattered among the recovered ones).
    std::pair<torch::Tensor, torch::Tensor> write_slots(int64_t layer, int64_t batch, int64_t n) override;
    // True when pruned slots are recovered (full-length K/V staged).
    bool recovers() const { return m_recover; }
    // The tag (model::KvCache::staging_tag) that says the staging area holds this block's
    // recovered slots: they come from the clean reference, which changes only when the block
    // commits, so the block's first pass fills them and its later passes only write the kept
    // slots. Set it on the cache after a pass that completed.
    uint64_t staging_tag() const { return static_cast<uint64_t>(m_plan.start_frame) + 1; }
    // Whether the staging area already holds this block's recovered slots (staging_tag()).
    bool recovered_staged() const { return m_recovered_staged; }
    // Stages every layer's recovered K/V into the block's pruned slots (the kept slots are left
    // to the passes). Only when recovers().
    void stage_recovered(int64_t layers, int64_t batch);
    // A block that keeps no token: stages every layer's recovered K/V without running the model
    // (Lipar with a reference), or nothing (Naive). Returns the token count staged per frame.
    int64_t stage_without_kept_tokens(int64_t layers, int64_t batch);

private:
    // The plan's indices on `layer`'s device (made for every device of the cache up front, so that
    // stages on other threads only read them).
    const PlanIndices& indices(int64_t layer) const;

    model::KvCache& m_cache;
    ReferenceKv& m_reference;
    const PrunePlan& m_plan;
    std::vector<std::pair<torch::Device, PlanIndices>> m_indices;
    bool m_recover;
    bool m_refresh;
    bool m_recovered_staged;  // the pruned slots already hold the recovered K/V
};

}  // namespace lipar::accel
