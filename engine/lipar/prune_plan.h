#pragma once
// What the DiT computes for one block under LIPAR: the kept (recomputed) tokens, the pruned ones,
// their positions, and how the clean K/V reference is refreshed. Built once per block from the
// keep mask (one small device->host copy of the mask, never per frame) and reused by every
// denoising pass and the t = 0 cache pass of the block.

#include <torch/torch.h>

#include <vector>

#include "lipar/motion.h"
#include "model/common/rope.h"

namespace lipar::accel {

enum class PruneMode {
    Invalid = 0,
    Off,    // dense baseline: every token computed
    Naive,  // kept tokens only; pruned tokens' K/V dropped; restoration
    Lipar,  // kept tokens only; pruned K/V recovered from the clean reference; restoration
};

const char* prune_mode_name(PruneMode mode);
PruneMode parse_prune_mode(const std::string& name);  // "off" | "naive" | "lipar"

struct PrunePlan {
    int64_t frames = 0, grid_h = 0, grid_w = 0;
    int64_t start_frame = 0;  // absolute latent frame of the block's first frame

    torch::Tensor keep;           // bool [F, Hg, Wg] on the model device
    torch::Tensor kept_index;     // int64 [Nk] flat token indices (frame-major), ascending
    torch::Tensor pruned_index;   // int64 [Np]
    torch::Tensor frame_of_kept;  // int64 [Nk] frame within the block
    torch::Tensor pruned_loc;     // int64 [Np] reference location h * Wg + w the slot recovers
                                  // from (its own location, or the displaced one with motion)
    // Reference refresh at the t = 0 pass: kept-list rows -> locations, for every location kept
    // somewhere in the block (its last kept frame wins).
    // With motion, a kept token of frame f lands at its location displaced by the block's last
    // token shift less its own; with local motion, each location of the last frame follows its
    // content back through the frames' source maps to the latest kept token.
    torch::Tensor ref_src, ref_dst;
    // Motion of the block (empty vectors without motion). With a non-zero reference shift the
    // clean reference is first moved along with the frames: ref_shift_src [Hg*Wg] is, per
    // destination location, its (border-clamped) source; ref_shift_host the same with -1 for
    // locations that have no source.
    BlockMotion motion;
    torch::Tensor ref_shift_src;
    std::vector<int64_t> ref_shift_host;
    model::RopeTable rope_kept;    // [Nk, head_dim/2] at each kept token's own position
    model::RopeTable rope_pruned;  // [Np, head_dim/2] at each pruned slot's position
    std::vector<int64_t> kept_per_frame;  // host copy, per frame of the block
    std::vector<bool> location_kept;      // host, per location: refreshed by the block (ref_dst)
    std::vector<bool> location_pruned;    // host, per reference location some pruned slot uses

    int64_t tokens_per_frame() const { return grid_h * grid_w; }
    int64_t total() const { return frames * tokens_per_frame(); }
    int64_t kept() const;
    int64_t pruned() const { return total() - kept(); }
    bool all_kept() const { return pruned() == 0; }
    double kept_ratio() const;
    std::vector<double> kept_ratio_per_frame() const;

    // keep: bool [F, Hg, Wg] (any device). head_dim sizes the RoPE tables. motion: the detector's
    // (DetectionResult::motion) or nullptr for co-located pruning.
    static PrunePlan build(const torch::Tensor& keep, int64_t start_frame, int64_t head_dim,
                           const torch::Device& device, const BlockMotion* motion = nullptr);
    // Every token kept (the `off` mode and the first frames of a stream).
    static PrunePlan dense(int64_t frames, int64_t grid_h, int64_t grid_w, int64_t start_frame,
                           int64_t head_dim, const torch::Device& device);
};

}  // namespace lipar::accel
