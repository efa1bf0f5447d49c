#include "lipar/pruned_forward.h"

#include "core/error.h"

namespace lipar::accel {

namespace {

enum class GraphedPass : int64_t { Dense = 1, Kept = 2, KeptRecovered = 3 };

// The time conditioning of a pass as graph inputs (e, e0, every block's modulation rows), and
// back from the static copies.
std::vector<torch::Tensor> time_inputs(const model::TimeConditioning& time) {
    return {time.e, time.e0, time.block_mod_all};
}
model::TimeConditioning time_from(const std::vector<torch::Tensor>& in, size_t first) {
    model::TimeConditioning time;
    time.e = in[first];
    time.e0 = in[first + 1];
    time.block_mod_all = in[first + 2];
    time.block_mod = time.block_mod_all.unbind(0);
    return time;
}

// What a graphed transient pass reads by address besides its inputs: the KV cache's buffers and
// the prompt's K/V (a change of either drops the graphs).
std::vector<int64_t> graph_epoch(const model::KvCache& cache, const model::CrossAttnCache& cross) {
    return {cache.buffer_address(), reinterpret_cast<int64_t>(cross.k[0].data_ptr()),
            reinterpret_cast<int64_t>(cross.v[0].data_ptr())};
}
std::vector<torch::Tensor> cross_tensors(const model::CrossAttnCache& cross) {
    std::vector<torch::Tensor> all = cross.k;
    all.insert(all.end(), cross.v.begin(), cross.v.end());
    return all;
}

// Whether a transient pass of `tokens` tokens can be graphed now: conditioning made for inference
// with one timestep, and room in the cache (a pass must not reallocate it).
bool graphable(GraphCache* graphs, const model::WanDitImpl& dit, const model::TimeConditioning& time,
               const model::KvCache& cache, const model::CrossAttnCache& cross, int64_t tokens) {
    return graphs && graphs->active(dit.device()) && time.block_mod_all.defined() &&
           time.frames() == 1 && !cross.k.empty() &&
           cache.capacity() >= cache.committed_tokens() + tokens;
}

// The frames a committing pass of `plan` leaves in the cache: whole frames when the pruned slots
// are recovered, else the kept tokens of each frame.
std::vector<model::CachedFrame> committed_frames(const PrunePlan& plan, bool recovered) {
    std::vector<model::CachedFrame> frames;
    for (int64_t f = 0; f < plan.frames; ++f) {
        const int64_t n = recovered ? plan.tokens_per_frame() : plan.kept_per_frame[static_cast<size_t>(f)];
        frames.push_back({plan.start_frame + f, 0, n});
    }
    return frames;
}

// One transient pass through the stream's graphs: `in` are the pass's inputs (latents, ..., then
// time_inputs()), `body` the pass on their static copies. The staged K/V never outlive the pass
// (and on failure the recovered slots are not trusted either).
torch::Tensor run_graphed(GraphCache& graphs, GraphedPass kind, model::KvCache& cache,
                          const model::CrossAttnCache& cross, std::vector<torch::Tensor> in,
                          const model::TimeConditioning& time, const GraphCache::Body& body) {
    for (auto& t : time_inputs(time)) in.push_back(t);
    torch::Tensor flow;
    try {
        flow = graphs.run({static_cast<int64_t>(kind), cache.committed_tokens()},
                          graph_epoch(cache, cross), in, body, cross_tensors(cross));
    } catch (...) {
        cache.discard_staged();
        cache.set_staging_tag(0);
        throw;
    }
    cache.discard_staged();
    return flow;
}

torch::Tensor dense_transient(model::WanDitImpl& dit, const torch::Tensor& x,
                              const model::TimeConditioning& time, const model::CrossAttnCache& cross,
                              model::KvCache& cache, const PrunePlan& plan, GraphCache& graphs) {
    const auto grid = model::token_grid(dit.config(), x.sizes());
    auto body = [&](const std::vector<torch::Tensor>& in) {
        model::DitTokens tokens;
        tokens.x = dit.embed_patches(in[0]);
        tokens.rope = model::RopeTable{in[1], in[2], in[3]};
        auto out = dit.forward_tokens(tokens, time_from(in, 4), cross, &cache);
        return dit.unpatchify(out, grid[0], grid[1], grid[2]);
    };
    return run_graphed(graphs, GraphedPass::Dense, cache, cross,
                       {x, plan.rope_kept.cos, plan.rope_kept.sin, plan.rope_kept.rotation}, time, body);
}

torch::Tensor pruned_transient(model::WanDitImpl& dit, const torch::Tensor& x,
                               const model::TimeConditioning& time, const model::CrossAttnCache& cross,
                               model::KvCache& cache, ReferenceKv& reference, const PrunePlan& plan,
                               PruneMode mode, GraphCache& graphs) {
    const auto grid = model::token_grid(dit.config(), x.sizes());
    bool recovers = false;
    {
        // The recovered slots are staged eagerly (their indices change every block); the graph
        // writes only the kept slots.
        PrunedKvProvider probe(cache, reference, plan, mode, false);
        recovers = probe.recovers();
        if (recovers && !probe.recovered_staged()) {
            dit.drain_layers();  // every layer is staged here
            probe.stage_recovered(dit.config().num_layers, x.size(0));
            cache.set_staging_tag(probe.staging_tag());
        }
    }
    const int64_t out_dim = dit.config().out_channels * dit.config().patch_volume();
    auto body = [&](const std::vector<torch::Tensor>& in) {
        PrunePlan p = plan;  // host fields as planned; device indices and positions from `in`
        p.kept_index = in[1];
        p.rope_kept = model::RopeTable{in[2], in[3], in[4]};
        model::DitTokens tokens;
        tokens.x = dit.embed_patches(in[0]).index_select(1, p.kept_index);
        tokens.rope = p.rope_kept;
        PrunedKvProvider kv(cache, reference, p, mode, false);
        auto out_kept = dit.forward_tokens(tokens, time_from(in, 5), cross, &kv);
        auto out = torch::zeros({out_kept.size(0), p.total(), out_dim}, out_kept.options());
        out.index_copy_(1, p.kept_index, out_kept);
        return dit.unpatchify(out, grid[0], grid[1], grid[2]);
    };
    return run_graphed(graphs, recovers ? GraphedPass::KeptRecovered : GraphedPass::Kept, cache, cross,
                       {x, plan.kept_index, plan.rope_kept.cos, plan.rope_kept.sin, plan.rope_kept.rotation},
                       time, body);
}

}  // namespace

torch::Tensor pruned_causal_forward(model::WanDitImpl& dit, const torch::Tensor& x,
                                    const torch::Tensor& t, const model::CrossAttnCache& cross,
                                    model::KvCache& cache, ReferenceKv& reference,
                                    const PrunePlan& plan, PruneMode mode,
                                    model::CacheWrite write, GraphCache* graphs) {
    torch::NoGradGuard no_grad;
    const bool transient = write == model::CacheWrite::Transient;
    const bool dense = mode == PruneMode::Off || (plan.all_kept() && transient);
    if (transient && graphs && graphs->active(dit.device()) && (dense || plan.kept() > 0)) {
        auto time = dit.time_conditioning(t);
        const int64_t staged = dense || mode == PruneMode::Lipar ? plan.total() : plan.kept();
        if (graphable(graphs, dit, time, cache, cross, staged) &&
            plan.rope_kept.size() == (dense ? plan.total() : plan.kept())) {
            return dense ? dense_transient(dit, x, time, cross, cache, plan, *graphs)
                         : pruned_transient(dit, x, time, cross, cache, reference, plan, mode, *graphs);
        }
    }
    if (dense) {
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
    const bool commit = write != model::CacheWrite::Transient;
    const bool detached = write == model::CacheWrite::CommitDetached;
    const int64_t out_dim = dit.config().out_channels * dit.config().patch_volume();
    if (plan.kept() == 0) {
        // Nothing changed anywhere in the block: every token is restored; the cache pass only
        // stages the recovered K/V (Lipar) or nothing (Naive).
        if (commit) {
            dit.drain_layers();  // every layer is staged and committed here
            PrunedKvProvider kv(cache, reference, plan, mode, false);
            const int64_t per_frame = kv.stage_without_kept_tokens(dit.config().num_layers, x.size(0));
            std::vector<model::CachedFrame> frames;
            for (int64_t f = 0; f < plan.frames; ++f) {
                frames.push_back({plan.start_frame + f, 0, per_frame});
            }
            cache.commit(frames);
        }
        if (detached) return {};
        auto zero = torch::zeros({x.size(0), plan.total(), out_dim},
                                 x.options().dtype(torch::kFloat32));
        return dit.unpatchify(zero, grid[0], grid[1], grid[2]);
    }
    auto time = dit.time_conditioning(t);
    model::DitTokens tokens;
    tokens.x = dit.embed_patches(x).index_select(1, plan.kept_index);
    tokens.rope = plan.rope_kept;
    if (time.frames() > 1) tokens.frame_of_token = plan.frame_of_kept;

    if (detached) {
        // The pass holds its own copy of the plan (the caller's moves on to the next block);
        // each layer commits as soon as it has run, wherever that is.
        struct Commit {
            PrunePlan plan;
            PrunedKvProvider kv;
            std::vector<model::CachedFrame> frames;
            Commit(model::KvCache& c, ReferenceKv& r, const PrunePlan& p, PruneMode m)
                : plan(p), kv(c, r, plan, m, true) {}
        };
        auto pass = std::make_shared<Commit>(cache, reference, plan, mode);
        pass->frames = committed_frames(plan, pass->kv.recovers());
        try {
            dit.forward_tokens_detached(tokens, time, cross, std::shared_ptr<model::KvProvider>(pass, &pass->kv),
                                        [&cache, pass](int64_t layer) { cache.commit_layer(layer, pass->frames); });
        } catch (...) {
            cache.discard_staged();
            cache.set_staging_tag(0);
            throw;
        }
        reference.mark_refreshed(plan);
        return {};
    }
    PrunedKvProvider kv(cache, reference, plan, mode, commit);
    const auto frames = committed_frames(plan, kv.recovers());
    model::WanDitImpl::LayerHook commit_layer;
    if (commit) commit_layer = [&](int64_t layer) { cache.commit_layer(layer, frames); };
    torch::Tensor out_kept;
    try {
        out_kept = dit.forward_tokens(tokens, time, cross, &kv, c10::nullopt, commit_layer);
    } catch (...) {
        cache.discard_staged();
        cache.set_staging_tag(0);
        throw;
    }
    if (commit) {
        reference.mark_refreshed(plan);
    } else {
        if (kv.recovers()) cache.set_staging_tag(kv.staging_tag());
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
        if (plan.motion.local())
            prev = gather_latents(prev, plan.motion.source[static_cast<size_t>(f)], plan.grid_w, ph, pw);
        else if (!plan.motion.whole_step.empty())
            prev = shift_frames(prev, plan.motion.whole_step[static_cast<size_t>(f)]);
        auto mask = keep_px.select(0, f).unsqueeze(0).unsqueeze(0);  // [1, 1, H, W]
        out.select(2, f).copy_(torch::where(mask, out.select(2, f), prev.to(out.dtype())));
    }
    return out;
}

}  // namespace lipar::accel
