#include "lipar/motion.h"

#include "core/device.h"
#include "core/error.h"

#include <algorithm>
#include <cmath>

namespace lipar::accel {

bool BlockMotion::active() const {
    for (const auto& s : step)
        if (s.dy != 0 || s.dx != 0) return true;
    for (const auto& s : token_shift)
        if (!s.zero()) return true;
    for (const auto& m : source)
        if (!is_identity(m)) return true;
    return false;
}

std::vector<Motion> estimate_global_motion(const torch::Tensor& current, const torch::Tensor& previous,
                                           int64_t range) {
    LIPAR_CHECK(current.dim() == 4 && previous.sizes() == current.sizes(), StatusCode::ShapeMismatch,
                "motion estimation needs two [F, C, H, W] stacks of one shape, got ",
                shape_string(current.sizes()), " and ", shape_string(previous.sizes()));
    const int64_t f = current.size(0), h = current.size(2), w = current.size(3);
    range = std::max<int64_t>(0, std::min({range, (h - 1) / 4, (w - 1) / 4}));
    std::vector<Motion> motions(static_cast<size_t>(f));
    if (range == 0 || f == 0) return motions;
    const int64_t hc = h - 2 * range, wc = w - 2 * range, side = 2 * range + 1;
    auto cur = current.to(torch::kFloat32);
    auto prev = previous.to(torch::kFloat32);
    // The central region of the current frame against every displaced window of the previous
    // one: window (i, j) starts at (i, j), i.e. the current position p sees previous p - d with
    // d = (range - i, range - j).
    auto centre = cur.narrow(2, range, hc).narrow(3, range, wc);               // [F, C, hc, wc]
    auto windows = prev.unfold(2, hc, 1).unfold(3, wc, 1);                     // [F, C, s, s, hc, wc]
    auto error = (windows - centre.unsqueeze(2).unsqueeze(3)).abs().mean({1, 4, 5});  // [F, s, s]
    auto host = error.to(torch::kCPU, torch::kDouble).contiguous();
    for (int64_t k = 0; k < f; ++k) {
        const double* e = host.data_ptr<double>() + k * side * side;
        int64_t best = range * side + range;  // d = 0
        for (int64_t i = 0; i < side * side; ++i)
            if (e[i] < e[best]) best = i;
        if (!(e[best] < 0.9 * e[range * side + range])) continue;
        const int64_t bi = best / side, bj = best % side;
        // V fit through the minimum and its two neighbours (the L1 error is V-shaped near it;
        // on real clips this tracked slow pans better than a parabola).
        auto refine = [](double minus, double centre_e, double plus) {
            const double slope = std::max(minus, plus) - centre_e;
            if (!(slope > 0)) return 0.0;
            return std::clamp((minus - plus) / (2.0 * slope), -0.5, 0.5);
        };
        double fi = 0, fj = 0;
        if (bi > 0 && bi < side - 1) fi = refine(e[best - side], e[best], e[best + side]);
        if (bj > 0 && bj < side - 1) fj = refine(e[best - 1], e[best], e[best + 1]);
        // Window index i + fi -> displacement range - (i + fi).
        motions[static_cast<size_t>(k)] = {double(range - bi) - fi, double(range - bj) - fj};
    }
    return motions;
}

std::vector<SourceMap> estimate_local_motion(const torch::Tensor& current, const torch::Tensor& previous,
                                             int64_t range, int64_t tile) {
    LIPAR_CHECK(current.dim() == 4 && previous.sizes() == current.sizes() && current.size(2) % 2 == 0 &&
                    current.size(3) % 2 == 0,
                StatusCode::ShapeMismatch, "local motion estimation needs two [F, C, H, W] stacks of one shape "
                "with even H and W, got ", shape_string(current.sizes()), " and ", shape_string(previous.sizes()));
    LIPAR_CHECK(tile >= 1, StatusCode::InvalidArgument, "motion tiles must be at least one token, got ", tile);
    const int64_t f = current.size(0), h = current.size(2), w = current.size(3);
    const int64_t gh = h / 2, gw = w / 2;
    range = std::max<int64_t>(0, std::min({range, (gh - 1) / 2, (gw - 1) / 2}));
    std::vector<SourceMap> maps(static_cast<size_t>(f), identity_map(gh, gw));
    if (range == 0 || f == 0) return maps;
    const int64_t side = 2 * range + 1, zero = range * side + range;
    auto cur = current.to(torch::kFloat32);
    auto prev = previous.to(torch::kFloat32);
    // Every candidate d (whole tokens, 2 latent pixels each) at once: the previous frame padded by
    // replicating its border, its windows at even offsets o (d = 2 * range - o), the error map
    // |cur - window| averaged over channels and over each tile (2 * tile latent pixels a side).
    const int64_t pad = 2 * range;
    auto padded = torch::replication_pad2d(prev, {pad, pad, pad, pad});             // [F, C, H+2p, W+2p]
    auto windows = padded.unfold(2, h, 2).unfold(3, w, 2);                          // [F, C, s, s, H, W]
    auto error = (windows - cur.unsqueeze(2).unsqueeze(3)).abs().mean(1);           // [F, s, s, H, W]
    auto pooled = torch::avg_pool2d(error.reshape({f * side * side, 1, h, w}), {2 * tile, 2 * tile},
                                    {2 * tile, 2 * tile}, {0, 0}, true, false);
    auto host = pooled.to(torch::kCPU, torch::kDouble).contiguous();                // [F*s*s, 1, Th, Tw]
    const int64_t th = host.size(2), tw = host.size(3), per_candidate = th * tw;
    const double* e = host.data_ptr<double>();
    for (int64_t k = 0; k < f; ++k) {
        std::vector<Shift> vectors(static_cast<size_t>(th * tw));
        bool moved = false;
        for (int64_t t = 0; t < th * tw; ++t) {
            const double* te = e + k * side * side * per_candidate + t;  // candidate c at te[c * per_candidate]
            int64_t best = zero;
            for (int64_t c = 0; c < side * side; ++c)
                if (te[c * per_candidate] < te[best * per_candidate]) best = c;
            if (!(te[best * per_candidate] < 0.9 * te[zero * per_candidate])) continue;
            vectors[static_cast<size_t>(t)] = {range - best / side, range - best % side};
            moved = true;
        }
        if (!moved) continue;
        SourceMap& map = maps[static_cast<size_t>(k)];
        for (int64_t y = 0; y < gh; ++y) {
            for (int64_t x = 0; x < gw; ++x) {
                const Shift d = vectors[static_cast<size_t>((y / tile) * tw + x / tile)];
                const int64_t sy = y - d.dy, sx = x - d.dx;
                map[static_cast<size_t>(y * gw + x)] = sy >= 0 && sy < gh && sx >= 0 && sx < gw ? sy * gw + sx : -1;
            }
        }
    }
    return maps;
}

SourceMap identity_map(int64_t gh, int64_t gw) {
    SourceMap map(static_cast<size_t>(gh * gw));
    for (size_t i = 0; i < map.size(); ++i) map[i] = static_cast<int64_t>(i);
    return map;
}

bool is_identity(const SourceMap& map) {
    for (size_t i = 0; i < map.size(); ++i)
        if (map[i] != static_cast<int64_t>(i)) return false;
    return true;
}

SourceMap compose(const SourceMap& earlier, const SourceMap& step) {
    LIPAR_CHECK(earlier.size() == step.size(), StatusCode::ShapeMismatch, "source maps of ", earlier.size(),
                " and ", step.size(), " locations cannot be composed");
    SourceMap out(step.size(), -1);
    for (size_t p = 0; p < step.size(); ++p)
        if (step[p] >= 0) out[p] = earlier[static_cast<size_t>(step[p])];
    return out;
}

std::vector<SourceMap> accumulate_maps(const std::vector<SourceMap>& steps) {
    std::vector<SourceMap> out;
    for (const auto& step : steps) out.push_back(out.empty() ? step : compose(out.back(), step));
    return out;
}

std::vector<Shift> map_displacements(const SourceMap& map, int64_t gw) {
    std::vector<Shift> d(map.size());
    for (size_t p = 0; p < map.size(); ++p) {
        if (map[p] < 0) continue;
        const int64_t at = static_cast<int64_t>(p);
        d[p] = {at / gw - map[p] / gw, at % gw - map[p] % gw};
    }
    return d;
}

torch::Tensor gather_index(const SourceMap& map, const torch::Device& device) {
    std::vector<int64_t> index(map.size());
    for (size_t p = 0; p < map.size(); ++p) index[p] = map[p] >= 0 ? map[p] : static_cast<int64_t>(p);
    return torch::tensor(index, torch::kInt64).to(device);
}

torch::Tensor gather_maps(const torch::Tensor& maps, const SourceMap& map) {
    LIPAR_CHECK(maps.dim() >= 2 && maps.size(-2) * maps.size(-1) == static_cast<int64_t>(map.size()),
                StatusCode::ShapeMismatch, "gather_maps: ", shape_string(maps.sizes()), " is not a grid of ",
                map.size(), " locations");
    if (is_identity(map)) return maps;
    return maps.flatten(-2).index_select(-1, gather_index(map, maps.device())).view(maps.sizes());
}

torch::Tensor gather_tokens(const torch::Tensor& tokens, const SourceMap& map) {
    LIPAR_CHECK(tokens.dim() == 3 && tokens.size(0) * tokens.size(1) == static_cast<int64_t>(map.size()),
                StatusCode::ShapeMismatch, "gather_tokens: tokens ", shape_string(tokens.sizes()),
                " are not a grid of ", map.size(), " locations");
    if (is_identity(map)) return tokens;
    return tokens.flatten(0, 1).index_select(0, gather_index(map, tokens.device())).view(tokens.sizes());
}

torch::Tensor gather_latents(const torch::Tensor& x, const SourceMap& map, int64_t gw, int64_t ph, int64_t pw) {
    const int64_t h = x.size(-2), w = x.size(-1);
    LIPAR_CHECK(x.dim() >= 2 && gw > 0 && w == gw * pw && h * w == static_cast<int64_t>(map.size()) * ph * pw,
                StatusCode::ShapeMismatch, "gather_latents: ", shape_string(x.sizes()), " is not a grid of ",
                map.size(), " tokens of ", ph, "x", pw, " pixels, ", gw, " wide");
    if (is_identity(map)) return x;
    std::vector<int64_t> index(static_cast<size_t>(h * w));
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t xx = 0; xx < w; ++xx) {
            const int64_t p = (y / ph) * gw + xx / pw;
            const int64_t s = map[static_cast<size_t>(p)] >= 0 ? map[static_cast<size_t>(p)] : p;
            index[static_cast<size_t>(y * w + xx)] = ((s / gw) * ph + y % ph) * w + (s % gw) * pw + xx % pw;
        }
    }
    return x.flatten(-2).index_select(-1, torch::tensor(index, torch::kInt64).to(x.device())).view(x.sizes());
}

torch::Tensor exposed_locations(const SourceMap& map, int64_t gh, int64_t gw, const torch::Device& device) {
    return torch::tensor(map, torch::kInt64).lt(0).view({gh, gw}).to(device);
}

namespace {
torch::Tensor source_index(int64_t n, int64_t d, const torch::Device& device) {
    return (torch::arange(n, torch::TensorOptions(torch::kInt64).device(device)) - d).clamp(0, n - 1);
}
}  // namespace

torch::Tensor shift_frames(const torch::Tensor& x, Shift d) {
    if (d.zero()) return x;
    LIPAR_CHECK(x.dim() >= 2, StatusCode::ShapeMismatch, "shift_frames needs [..., H, W]");
    const int64_t h = x.size(-2), w = x.size(-1);
    return x.index_select(x.dim() - 2, source_index(h, d.dy, x.device()))
        .index_select(x.dim() - 1, source_index(w, d.dx, x.device()));
}

torch::Tensor shift_tokens(const torch::Tensor& tokens, Shift d) {
    if (d.zero()) return tokens;
    LIPAR_CHECK(tokens.dim() == 3 && tokens.size(2) % 4 == 0, StatusCode::ShapeMismatch,
                "tokens must be [Ht, Wt, C*4], got ", shape_string(tokens.sizes()));
    const int64_t ht = tokens.size(0), wt = tokens.size(1), c = tokens.size(2) / 4;
    auto latent = tokens.reshape({ht, wt, c, 2, 2}).permute({2, 0, 3, 1, 4}).reshape({c, 2 * ht, 2 * wt});
    return shift_frames(latent, d)
        .reshape({c, ht, 2, wt, 2})
        .permute({1, 3, 0, 2, 4})
        .reshape({ht, wt, 4 * c});
}

namespace {
// bool [H, W]: positions whose source p - d lies outside the frame.
torch::Tensor exposed_positions(int64_t h, int64_t w, Shift d, const torch::Device& device) {
    auto opts = torch::TensorOptions(torch::kInt64).device(device);
    auto ys = torch::arange(h, opts) - d.dy;
    auto xs = torch::arange(w, opts) - d.dx;
    auto row_out = ys.lt(0).logical_or(ys.ge(h)).unsqueeze(1);
    auto col_out = xs.lt(0).logical_or(xs.ge(w)).unsqueeze(0);
    return row_out.logical_or(col_out);
}
}  // namespace

torch::Tensor exposed_tokens(int64_t latent_h, int64_t latent_w, Shift d, const torch::Device& device) {
    return exposed_positions(latent_h, latent_w, d, device)
        .reshape({latent_h / 2, 2, latent_w / 2, 2})
        .any(3)
        .any(1);
}

std::vector<int64_t> shifted_source_locations(int64_t gh, int64_t gw, Shift d) {
    std::vector<int64_t> src(static_cast<size_t>(gh * gw), -1);
    for (int64_t y = 0; y < gh; ++y) {
        for (int64_t x = 0; x < gw; ++x) {
            const int64_t sy = y - d.dy, sx = x - d.dx;
            if (sy >= 0 && sy < gh && sx >= 0 && sx < gw) src[static_cast<size_t>(y * gw + x)] = sy * gw + sx;
        }
    }
    return src;
}

int64_t latent_to_tokens(double e) { return static_cast<int64_t>(std::lround(e / 2.0)); }

}  // namespace lipar::accel
