#pragma once
// Test helpers for LIPAR detection: masks from pictures, synthetic latents, and a naive
// loop-by-loop double-precision reference of the whole detector (docs/LIPAR_DETECTION.md) that
// shares no code with engine/lipar/.

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "lipar/detector.h"

namespace lipar::accel::testing {

// Frames [H, W] stacked into a [F, H, W] grid.
inline torch::Tensor frames_of(std::initializer_list<torch::Tensor> frames) {
    return torch::stack(std::vector<torch::Tensor>(frames));
}

// '#' = true, anything else false; all rows the same length. Returns bool [rows, cols].
inline torch::Tensor mask_from_rows(const std::vector<std::string>& rows) {
    const int64_t h = int64_t(rows.size()), w = int64_t(rows[0].size());
    torch::Tensor mask = torch::zeros({h, w}, torch::kBool);
    auto a = mask.accessor<bool, 2>();
    for (int64_t y = 0; y < h; ++y) {
        for (int64_t x = 0; x < w; ++x) {
            a[y][x] = rows[size_t(y)][size_t(x)] == '#';
        }
    }
    return mask;
}

inline std::string mask_to_rows(const torch::Tensor& mask2d) {
    const torch::Tensor m = mask2d.to(torch::kCPU).to(torch::kBool).contiguous();
    auto a = m.accessor<bool, 2>();
    std::string out;
    for (int64_t y = 0; y < m.size(0); ++y) {
        for (int64_t x = 0; x < m.size(1); ++x) {
            out += a[y][x] ? '#' : '.';
        }
        out += '\n';
    }
    return out;
}

// Values on a 1/64 grid in [-4, 4]: sums and differences of them with multiples of 1/8 are exact
// in float32, so distances come out exactly.
inline torch::Tensor dyadic_noise(const std::vector<int64_t>& shape) {
    return torch::clamp(torch::round(torch::randn(shape) * 64.0) / 64.0, -4.0, 4.0);
}

// Latents [C, F, H, W] with structure: a static background, a bright square moving right, a
// drifting region, per-column noise whose amplitude ramps across the frame, and random flickers.
inline torch::Tensor structured_latents(int64_t c, int64_t f, int64_t h, int64_t w, uint64_t seed) {
    torch::manual_seed(seed);
    torch::Tensor z = torch::randn({c, 1, h, w}).repeat({1, f, 1, 1});
    const torch::Tensor ramp = torch::linspace(0.0, 0.35, w).view({1, 1, 1, w});
    z = z + torch::randn({c, f, h, w}) * ramp;
    for (int64_t i = 0; i < f; ++i) {
        const int64_t x0 = std::min<int64_t>(2 + 3 * i, w - 8);
        z.narrow(1, i, 1).narrow(2, 2, 8).narrow(3, x0, 8).add_(1.5);
        z.narrow(1, i, 1).narrow(2, h - 10, 8).narrow(3, 2, 10).add_(0.07 * double(i));
        const int64_t fy = (7 * i + 3) % (h / 2), fx = (11 * i + 5) % (w / 2);
        z.narrow(1, i, 1).narrow(2, 2 * fy, 2).narrow(3, 2 * fx, 2).add_(2.0);
    }
    return z;
}

struct NaiveResult {
    int64_t frames = 0, h = 0, w = 0;
    std::vector<uint8_t> keep;
    std::vector<double> distance, distance_long;
    // Smallest |distance - tau| over every threshold test made; exact mask comparisons with the
    // float32 engine are only meaningful when this is clearly above float32 rounding.
    double min_margin = 1e30;
};

// Streams z through the detector algorithm in blocks of the given sizes, committing each block
// with its own mask (or its threshold mask for ReferenceRefresh::ThresholdMask).
inline NaiveResult naive_detect(const torch::Tensor& z_in,
                                const DetectorConfig& cfg,
                                const std::vector<int64_t>& block_sizes) {
    const torch::Tensor z = z_in.to(torch::kCPU).to(torch::kDouble).contiguous();
    auto za = z.accessor<double, 4>();
    const int64_t C = z.size(0), F = z.size(1), H = z.size(2) / 2, W = z.size(3) / 2;
    const int64_t N = 4 * C;
    NaiveResult r;
    r.frames = F;
    r.h = H;
    r.w = W;
    auto at = [&](int64_t g, int64_t y, int64_t x) { return size_t((g * H + y) * W + x); };
    std::vector<std::vector<double>> tok(size_t(F * H * W), std::vector<double>(size_t(N)));
    for (int64_t g = 0; g < F; ++g)
        for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x) {
                int64_t k = 0;
                for (int64_t c = 0; c < C; ++c)
                    for (int64_t dy = 0; dy < 2; ++dy)
                        for (int64_t dx = 0; dx < 2; ++dx)
                            tok[at(g, y, x)][size_t(k++)] = za[c][g][2 * y + dy][2 * x + dx];
            }
    const int64_t lo = int64_t(cfg.trim_low * double(N)), hi = int64_t(cfg.trim_high * double(N));
    auto trimmed = [&](const std::vector<double>& a, const std::vector<double>& b) {
        std::vector<double> d(static_cast<size_t>(N));
        for (int64_t i = 0; i < N; ++i)
            d[size_t(i)] = std::fabs(a[size_t(i)] - b[size_t(i)]);
        std::sort(d.begin(), d.end());
        double s = 0;
        for (int64_t i = lo; i < hi; ++i)
            s += d[size_t(i)];
        return s / double(hi - lo);
    };
    auto cy = [&](int64_t y) { return std::clamp<int64_t>(y, 0, H - 1); };
    auto cx = [&](int64_t x) { return std::clamp<int64_t>(x, 0, W - 1); };
    const size_t total = size_t(F * H * W);
    std::vector<double> raw(total, 0), med(total, 0), gau(total, 0);
    for (int64_t g = 1; g < F; ++g)
        for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x)
                raw[at(g, y, x)] = trimmed(tok[at(g, y, x)], tok[at(g - 1, y, x)]);
    for (int64_t g = 1; g < F; ++g)
        for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x) {
                std::vector<double> v;
                for (int64_t dt = 0; dt < 3; ++dt)
                    for (int64_t dy = -1; dy <= 1; ++dy)
                        for (int64_t dx = -1; dx <= 1; ++dx)
                            v.push_back(
                                raw[at(std::max<int64_t>(g - dt, 1), cy(y + dy), cx(x + dx))]);
                std::nth_element(v.begin(), v.begin() + 13, v.end());
                med[at(g, y, x)] = v[13];
            }
    double wsum = 0, wt[2][3][3];
    for (int64_t dt = 0; dt < 2; ++dt)
        for (int64_t dy = -1; dy <= 1; ++dy)
            for (int64_t dx = -1; dx <= 1; ++dx) {
                const double s2 = 2 * cfg.gaussian_sigma * cfg.gaussian_sigma;
                wt[dt][dy + 1][dx + 1] = std::exp(-double(dt * dt + dy * dy + dx * dx) / s2);
                wsum += wt[dt][dy + 1][dx + 1];
            }
    for (int64_t g = 1; g < F; ++g)
        for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x) {
                double s = 0;
                for (int64_t dt = 0; dt < 2; ++dt)
                    for (int64_t dy = -1; dy <= 1; ++dy)
                        for (int64_t dx = -1; dx <= 1; ++dx)
                            s += wt[dt][dy + 1][dx + 1] / wsum *
                                 med[at(std::max<int64_t>(g - dt, 1), cy(y + dy), cx(x + dx))];
                gau[at(g, y, x)] = s;
            }
    const std::vector<double>& used = cfg.smooth ? gau : raw;
    const double tau1 = double(float(cfg.tau1)), tau2 = double(float(cfg.tau2));
    r.keep.assign(total, 1);
    r.distance.assign(total, 0);
    r.distance_long.assign(total, 0);
    std::vector<uint8_t> thr(total, 1), cleaned(total, 0);
    std::vector<std::vector<double>> ref(size_t(H * W));
    bool have_ref = false;
    // One 3x3 min (erode) or max (dilate) pass over frame g of src, ignoring outside pixels.
    auto morph = [&](const std::vector<uint8_t>& src, int64_t g, bool dilate) {
        std::vector<uint8_t> out(size_t(H * W));
        for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x) {
                uint8_t v = dilate ? 0 : 1;
                for (int64_t dy = -1; dy <= 1; ++dy)
                    for (int64_t dx = -1; dx <= 1; ++dx) {
                        const int64_t yy = y + dy, xx = x + dx;
                        if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                            continue;
                        const uint8_t s = src[size_t((g * H + yy) * W + xx)];
                        v = dilate ? std::max(v, s) : std::min(v, s);
                    }
                out[size_t(y * W + x)] = v;
            }
        return out;
    };
    int64_t start = 0;
    for (int64_t b : block_sizes) {
        const int64_t end = std::min(F, start + b);
        for (int64_t g = std::max<int64_t>(start, 1); g < end; ++g)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x) {
                    const size_t i = at(g, y, x);
                    r.distance[i] = used[i];
                    r.min_margin = std::min(r.min_margin, std::fabs(used[i] - tau1));
                    bool t = used[i] > tau1;
                    if (cfg.long_term && have_ref) {
                        const double dl = trimmed(tok[i], ref[size_t(y * W + x)]);
                        r.distance_long[i] = dl;
                        r.min_margin = std::min(r.min_margin, std::fabs(dl - tau2));
                        t = t || dl > tau2;
                    }
                    thr[i] = t;
                }
        for (int64_t g = std::max<int64_t>(start, 1); g < end; ++g) {
            std::vector<uint8_t> fin(size_t(H * W));
            std::vector<uint8_t> mm(total, 0);
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x) {
                    int count = 0;
                    for (int64_t dt = 0; dt < 3; ++dt)
                        for (int64_t dy = -1; dy <= 1; ++dy)
                            for (int64_t dx = -1; dx <= 1; ++dx)
                                count +=
                                    thr[at(std::max<int64_t>(g - dt, 1), cy(y + dy), cx(x + dx))];
                    mm[at(g, y, x)] = count >= 14;
                }
            std::vector<uint8_t> tmp(total, 0);
            auto put = [&](const std::vector<uint8_t>& frame) {
                std::copy(frame.begin(), frame.end(), tmp.begin() + long(g * H * W));
            };
            put(morph(mm, g, false));
            put(morph(tmp, g, true));  // open
            put(morph(tmp, g, true));
            put(morph(tmp, g, false));  // close
            std::copy(tmp.begin() + long(g * H * W), tmp.begin() + long((g + 1) * H * W),
                      cleaned.begin() + long(g * H * W));
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x) {
                    uint8_t v = 0;
                    for (int64_t dt = 0; dt < 2 && g - dt >= 1; ++dt)
                        for (int64_t dy = -2; dy <= 2; ++dy)
                            for (int64_t dx = -2; dx <= 2; ++dx) {
                                const int64_t yy = y + dy, xx = x + dx;
                                if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                                    continue;
                                v = std::max(v, cleaned[at(g - dt, yy, xx)]);
                            }
                    fin[size_t(y * W + x)] = cfg.cleanup ? v : thr[at(g, y, x)];
                }
            // min_keep_ratio as the authors' loop does it: 3x3 dilations until the ratio holds.
            auto count_of = [&]() { return double(std::count(fin.begin(), fin.end(), 1)); };
            if (cfg.min_keep_ratio > 0 && count_of() > 0) {
                while (count_of() / double(H * W) < cfg.min_keep_ratio) {
                    std::vector<uint8_t> grown(size_t(H * W), 0);
                    for (int64_t y = 0; y < H; ++y)
                        for (int64_t x = 0; x < W; ++x)
                            for (int64_t dy = -1; dy <= 1; ++dy)
                                for (int64_t dx = -1; dx <= 1; ++dx) {
                                    const int64_t yy = y + dy, xx = x + dx;
                                    if (yy >= 0 && yy < H && xx >= 0 && xx < W &&
                                        fin[size_t(yy * W + xx)])
                                        grown[size_t(y * W + x)] = 1;
                                }
                    fin = grown;
                }
            }
            std::copy(fin.begin(), fin.end(), r.keep.begin() + long(g * H * W));
        }
        for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x) {
                std::vector<double>& rv = ref[size_t(y * W + x)];
                if (!have_ref)
                    rv = tok[at(start, y, x)];
                for (int64_t g = start; g < end; ++g) {
                    const bool by_threshold =
                        cfg.reference_refresh == ReferenceRefresh::ThresholdMask;
                    const bool k =
                        by_threshold ? (g == 0 || thr[at(g, y, x)]) : r.keep[at(g, y, x)];
                    if (k)
                        rv = tok[at(g, y, x)];
                }
            }
        have_ref = true;
        start = end;
    }
    return r;
}

inline std::vector<int64_t> uniform_blocks(int64_t frames, int64_t per_block) {
    std::vector<int64_t> blocks;
    for (int64_t s = 0; s < frames; s += per_block)
        blocks.push_back(per_block);
    return blocks;
}

inline torch::Tensor naive_keep_tensor(const NaiveResult& r) {
    torch::Tensor t = torch::zeros({r.frames, r.h, r.w}, torch::kBool);
    auto a = t.accessor<bool, 3>();
    for (int64_t g = 0; g < r.frames; ++g)
        for (int64_t y = 0; y < r.h; ++y)
            for (int64_t x = 0; x < r.w; ++x)
                a[g][y][x] = r.keep[size_t((g * r.h + y) * r.w + x)];
    return t;
}

inline torch::Tensor naive_values_tensor(const NaiveResult& r, const std::vector<double>& v) {
    return torch::tensor(v, torch::kDouble).view({r.frames, r.h, r.w});
}

}  // namespace lipar::accel::testing
