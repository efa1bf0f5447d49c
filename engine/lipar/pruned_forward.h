#pragma once
// One causal DiT pass over a block under a prune plan, and restoration of pruned tokens.
//
//   off:   every token computed (model::causal_forward)
//   naive: kept tokens gathered right after patch embedding; every block, modulation and the head
//          run on them alone; pruned K/V are simply absent
//   lipar: as naive, plus Attention Recovery of the pruned K/V (recovery.h)
//
// Restoration (LIPAR.md section 2): a pruned token's x0 is the x0 at the same location of the
// previous latent frame (for a block's first frame, the previous block's last frame); with motion
// (plan.motion), at the location displaced by the frame's step (local motion: its source map).

#include <torch/torch.h>

#include "core/graph_cache.h"
#include "lipar/prune_plan.h"
#include "lipar/recovery.h"
#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"

namespace lipar::accel {

// x [B, C, f, H, W] at timesteps t ([B] or [B, f]); returns the flow [B, C, f, H, W] with the
// pruned tokens' entries zero (they are restored afterwards). With CacheWrite::Commit the block's
// K/V are committed and, for naive/lipar, the clean reference refreshed.
// graphs: when given (and active on the device), a transient (denoising) pass runs as a CUDA
// graph per (kept count, cache length, recovery): the same computation, replayed with one launch;
// the block's recovered K/V are staged before it. Committing passes always run eagerly.
torch::Tensor pruned_causal_forward(model::WanDitImpl& dit, const torch::Tensor& x,
                                    const torch::Tensor& t, const model::CrossAttnCache& cross,
                                    model::KvCache& cache, ReferenceKv& reference,
                                    const PrunePlan& plan, PruneMode mode, model::CacheWrite write,
                                    GraphCache* graphs = nullptr);

// x0 [B, C, f, H, W]: entries of pruned tokens replaced, frame by frame, by the previous frame's
// (already restored) x0; prev_last [B, C, H, W] is the previous block's last frame (may be
// undefined when the block's first frame is fully kept). Returns a new tensor.
torch::Tensor restore_pruned(const torch::Tensor& x0, const PrunePlan& plan,
                             const torch::Tensor& prev_last);

}  // namespace lipar::accel
