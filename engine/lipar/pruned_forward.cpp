#include "lipar/pruned_forward.h"

#include "core/error.h"

namespace lipar::accel {

torch::Tensor pruned_causal_forward(model::WanDitImpl& dit, const torch::Tensor& x,
                                    const torch::Tensor& t, const model::CrossAttnCache& cross,
                                    model::KvCache& cache, ReferenceKv& reference,
                                    const PrunePlan& plan, PruneMode mode,
                                    model::CacheWrite write) {
    torch::NoGradGuard no_grad;
    if (mode == PruneMode::Off || (plan.all_kept() && write == model::CacheWrite::Transient)) {
        // Every token computed: the dense path, with none of the gathers and scatters of the
        // pruned one (the same computation; only a committing pass of naive/lipar must go on
        // below, to refresh the clean reference).
        return model::causal_forward(dit, x, t, cross, cache, plan.start_frame, write, &plan.rope_kept);
    }
    const auto grid = model::token_grid(dit.config(), x.sizes());
    LIPAR_CHECK(grid[0] == plan.frames && grid[1] == plan.grid_h && grid[2] == plan.grid_w,
                StatusCode::ShapeMismatch, "prune plan is for a ", plan.frames, "x", plan.grid_h,
                "x", plan.grid_w, " token grid, the block has ", grid[0], "x", grid[1], "x",
                grid[2]);
    const bool commit = write == model::CacheWrite::Commit;
    const int64_t out_dim = dit.config().out_channels * dit.config().patch_volume();
    if (plan.kept() == 0) {
        // Nothing changed anywhere in the block: every token is restored; the cache pass only
        // stages the recovered K/V (Lipar) or nothing (Naive).
        if (commit) {
            PrunedKvProvider kv(cache, reference, plan, mode, false);
            const int64_t per_frame = kv.stage_without_kept_tokens(dit.config().num_layers, x.size(0));
            std::vector<model::CachedFrame> frames;
            for (int64_t f = 0; f < plan.frames; ++f) {
                frames.push_back({plan.start_frame + f, 0, per_frame});
            }
            cache.commit(frames);
        }
        auto zero = torch::zeros({x.size(0), plan.total(), out_dim},
                                 x.options().dtype(torch::kFloat32));
        return dit.unpatchify(zero, grid[0], grid[1], grid[2]);
    }
    auto time = dit.time_conditioning(t);
    model::DitTokens tokens;
    tokens.x = dit.embed_patches(x).index_select(1, plan.kept_index);
    tokens.rope = plan.rope_kept;
    if (time.frames() > 1) tokens.frame_of_token = plan.frame_of_kept;

    PrunedKvProvider kv(cache, reference, plan, mode, commit);
    torch::Tensor out_kept;
    try {
        out_kept = dit.forward_tokens(tokens, time, cross, &kv);
    } catch (...) {
        cache.discard_staged();
        cache.set_staging_tag(0);
        throw;
    }
    if (kv.recovers()) cache.set_staging_tag(kv.staging_tag());
    if (commit) {
        std::vector<model::CachedFrame> frames;
        for (int64_t f = 0; f < plan.frames; ++f) {
            const int64_t n = kv.recovers() ? plan.tokens_per_frame()
                                            : plan.kept_per_frame[static_cast<size_t>(f)];
            frames.push_back({plan.start_frame + f, 0, n});
        }
        cache.commit(frames);
        reference.mark_refreshed(plan);
    } else {
        cache.discard_staged();
    }
    auto out = torch::zeros({out_kept.size(0), plan.total(), out_kept.size(2)}, out_kept.options());
    out.index_copy_(1, plan.kept_index, out_kept);
    return dit.unpatchify(out, grid[0], grid[1], grid[2]);
}

torch::Tensor restore_pruned(const torch::Tensor& x0, const PrunePlan& plan,
                             const torch::Tensor& prev_last) {
    if (plan.all_kept()) return x0;
    const int64_t ph = x0.size(3) / plan.grid_h, pw = x0.size(4) / plan.grid_w;
    auto keep_px = plan.keep.to(x0.device())
                       .repeat_interleave(ph, 1)
                       .repeat_interleave(pw, 2);  // [f, H, W]
    auto out = x0.clone();
    for (int64_t f = 0; f < plan.frames; ++f) {
        if (plan.kept_per_frame[static_cast<size_t>(f)] == plan.tokens_per_frame()) continue;
        torch::Tensor prev = f > 0 ? out.select(2, f - 1) : prev_last;
        LIPAR_CHECK(prev.defined(), StatusCode::Internal,
                    "restoration of a block's first frame needs the previous block's last frame");
        if (!plan.motion.whole_step.empty()) prev = shift_frames(prev, plan.motion.whole_step[static_cast<size_t>(f)]);
        auto mask = keep_px.select(0, f).unsqueeze(0).unsqueeze(0);  // [1, 1, H, W]
        out.select(2, f).copy_(torch::where(mask, out.select(2, f), prev.to(out.dtype())));
    }
    return out;
}

}  // namespace lipar::accel
