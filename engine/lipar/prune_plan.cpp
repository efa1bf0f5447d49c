#include "lipar/prune_plan.h"

#include <algorithm>

#include "core/error.h"

namespace lipar::accel {

const char* prune_mode_name(PruneMode mode) {
    switch (mode) {
        case PruneMode::Off: return "off";
        case PruneMode::Naive: return "naive";
        case PruneMode::Lipar: return "lipar";
        case PruneMode::Invalid: break;
    }
    return "invalid";
}

PruneMode parse_prune_mode(const std::string& name) {
    if (name == "off" || name == "baseline" || name == "dense") return PruneMode::Off;
    if (name == "naive") return PruneMode::Naive;
    if (name == "lipar") return PruneMode::Lipar;
    fail(StatusCode::InvalidArgument, "invalid mode '", name, "' (expected off, naive or lipar)");
}

int64_t PrunePlan::kept() const {
    int64_t n = 0;
    for (int64_t k : kept_per_frame) n += k;
    return n;
}

double PrunePlan::kept_ratio() const {
    return total() > 0 ? static_cast<double>(kept()) / static_cast<double>(total()) : 1.0;
}

std::vector<double> PrunePlan::kept_ratio_per_frame() const {
    std::vector<double> r;
    for (int64_t k : kept_per_frame) {
        r.push_back(static_cast<double>(k) / static_cast<double>(tokens_per_frame()));
    }
    return r;
}

PrunePlan PrunePlan::build(const torch::Tensor& keep_in, int64_t start_frame, int64_t head_dim,
                           const torch::Device& device, const BlockMotion* motion) {
    LIPAR_CHECK(keep_in.dim() == 3, StatusCode::ShapeMismatch, "keep mask must be [F, Hg, Wg]");
    PrunePlan p;
    p.frames = keep_in.size(0);
    p.grid_h = keep_in.size(1);
    p.grid_w = keep_in.size(2);
    p.start_frame = start_frame;
    const int64_t hw = p.tokens_per_frame(), n = p.total();
    auto keep_cpu = keep_in.to(torch::kCPU, torch::kBool).contiguous();
    const bool* k = keep_cpu.data_ptr<bool>();

    const bool moving = motion && motion->active();
    if (moving) {
        LIPAR_CHECK(static_cast<int64_t>(motion->step.size()) == p.frames &&
                        static_cast<int64_t>(motion->token_shift.size()) == p.frames,
                    StatusCode::ShapeMismatch, "block motion has ", motion->step.size(),
                    " frames, the keep mask ", p.frames);
        p.motion = *motion;
    }
    const bool local = moving && motion->local();
    // Local motion: each frame's map to the reference grid (the previous block's last frame).
    if (local)
        LIPAR_CHECK(static_cast<int64_t>(motion->source.size()) == p.frames &&
                        static_cast<int64_t>(motion->source[0].size()) == hw,
                    StatusCode::ShapeMismatch, "block motion's source maps do not fit the ", p.frames, "x",
                    p.grid_h, "x", p.grid_w, " keep mask");
    const std::vector<SourceMap> to_grid = local ? accumulate_maps(motion->source) : std::vector<SourceMap>{};
    const Shift last_shift = moving ? motion->reference_shift() : Shift{};
    // Location of a frame-f token at grid position (y, x) on the reference grid, with `shift`
    // the frame's token shift: (y, x) - shift, clamped (recovery) or -1 when outside (refresh).
    auto on_grid = [&](int64_t y, int64_t x, Shift shift, bool clamp) -> int64_t {
        int64_t sy = y - shift.dy, sx = x - shift.dx;
        if (clamp) {
            sy = std::clamp<int64_t>(sy, 0, p.grid_h - 1);
            sx = std::clamp<int64_t>(sx, 0, p.grid_w - 1);
        } else if (sy < 0 || sy >= p.grid_h || sx < 0 || sx >= p.grid_w) {
            return -1;
        }
        return sy * p.grid_w + sx;
    };

    std::vector<int64_t> kept, pruned, frame_of_kept, pruned_loc, ref_src, ref_dst;
    std::vector<int64_t> last_row(static_cast<size_t>(hw), -1);
    std::vector<int64_t> kept_pos, pruned_pos;
    p.kept_per_frame.assign(static_cast<size_t>(p.frames), 0);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t f = i / hw, loc = i % hw;
        const int64_t pos[3] = {start_frame + f, loc / p.grid_w, loc % p.grid_w};
        const Shift frame_shift = moving ? motion->token_shift[static_cast<size_t>(f)] : Shift{};
        if (k[i]) {
            // Where this token sits once the reference has moved to the block's last frame.
            // (Local motion: found by walking back from the block's last frame, below.)
            const int64_t dst = local ? -1 : moving ? on_grid(loc / p.grid_w, loc % p.grid_w,
                                                 {frame_shift.dy - last_shift.dy, frame_shift.dx - last_shift.dx},
                                                 false)
                                       : loc;
            if (dst >= 0) last_row[static_cast<size_t>(dst)] = static_cast<int64_t>(kept.size());
            kept.push_back(i);
            frame_of_kept.push_back(f);
            kept_pos.insert(kept_pos.end(), pos, pos + 3);
            ++p.kept_per_frame[static_cast<size_t>(f)];
        } else {
            if (p.location_pruned.empty()) p.location_pruned.assign(static_cast<size_t>(hw), false);
            int64_t src = moving ? on_grid(loc / p.grid_w, loc % p.grid_w, frame_shift, true) : loc;
            if (local) {
                src = to_grid[static_cast<size_t>(f)][static_cast<size_t>(loc)];
                if (src < 0) src = loc;
            }
            p.location_pruned[static_cast<size_t>(src)] = true;
            pruned.push_back(i);
            pruned_loc.push_back(src);
            pruned_pos.insert(pruned_pos.end(), pos, pos + 3);
        }
    }
    if (local) {
        // Each location of the block's last frame follows its content back frame by frame: the
        // latest kept token on the way refreshes it; with none, it takes the old reference at the
        // location the way ends on (-1 where the content entered the frame).
        std::vector<int64_t> kept_row(static_cast<size_t>(n), -1);
        for (size_t r = 0; r < kept.size(); ++r) kept_row[static_cast<size_t>(kept[r])] = static_cast<int64_t>(r);
        p.ref_shift_host.assign(static_cast<size_t>(hw), -1);
        for (int64_t q = 0; q < hw; ++q) {
            int64_t at = q;
            for (int64_t f = p.frames - 1; f >= 0 && at >= 0; --f) {
                const int64_t row = kept_row[static_cast<size_t>(f * hw + at)];
                if (row >= 0) {
                    last_row[static_cast<size_t>(q)] = row;
                    break;
                }
                at = motion->source[static_cast<size_t>(f)][static_cast<size_t>(at)];
            }
            if (last_row[static_cast<size_t>(q)] < 0) p.ref_shift_host[static_cast<size_t>(q)] = at;
        }
    }
    p.location_kept.assign(static_cast<size_t>(hw), false);
    for (int64_t loc = 0; loc < hw; ++loc) {
        if (last_row[static_cast<size_t>(loc)] >= 0) {
            ref_src.push_back(last_row[static_cast<size_t>(loc)]);
            ref_dst.push_back(loc);
            p.location_kept[static_cast<size_t>(loc)] = true;
        }
    }
    auto up = [&](const std::vector<int64_t>& v) {
        return torch::tensor(v, torch::kInt64).to(device);
    };
    if (local) {
        p.ref_shift_src = gather_index(p.ref_shift_host, device);
    } else if (!last_shift.zero()) {
        p.ref_shift_host = shifted_source_locations(p.grid_h, p.grid_w, last_shift);
        std::vector<int64_t> clamped(static_cast<size_t>(hw));
        for (int64_t loc = 0; loc < hw; ++loc)
            clamped[static_cast<size_t>(loc)] = on_grid(loc / p.grid_w, loc % p.grid_w, last_shift, true);
        p.ref_shift_src = up(clamped);
    }
    p.keep = keep_cpu.to(device);
    p.kept_index = up(kept);
    p.pruned_index = up(pruned);
    p.frame_of_kept = up(frame_of_kept);
    p.pruned_loc = up(pruned_loc);
    p.ref_src = up(ref_src);
    p.ref_dst = up(ref_dst);
    auto positions = [&](const std::vector<int64_t>& v) {
        return torch::tensor(v, torch::kInt64).view({-1, 3}).to(device);
    };
    if (!kept.empty()) p.rope_kept = model::make_rope_table(positions(kept_pos), head_dim);
    if (!pruned.empty()) p.rope_pruned = model::make_rope_table(positions(pruned_pos), head_dim);
    return p;
}

PrunePlan PrunePlan::dense(int64_t frames, int64_t grid_h, int64_t grid_w, int64_t start_frame,
                           int64_t head_dim, const torch::Device& device) {
    return build(torch::ones({frames, grid_h, grid_w}, torch::kBool), start_frame, head_dim, device);
}

}  // namespace lipar::accel
