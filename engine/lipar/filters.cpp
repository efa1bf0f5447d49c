#include "lipar/filters.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/device.h"
#include "core/error.h"

namespace lipar::accel {
namespace {

void check_grid(const torch::Tensor& x, const char* name) {
    LIPAR_CHECK(x.defined() && x.dim() == 3, StatusCode::ShapeMismatch, name,
                " must be a [F, H, W] token grid, got ",
                x.defined() ? shape_string(x.sizes()) : std::string("an undefined tensor"));
}

bool has_frames(const torch::Tensor& history) {
    return history.defined() && history.size(0) > 0;
}

void check_history(const torch::Tensor& history, const torch::Tensor& x, const char* name) {
    if (!has_frames(history)) {
        return;
    }
    LIPAR_CHECK(history.dim() == 3 && history.size(1) == x.size(1) && history.size(2) == x.size(2),
                StatusCode::ShapeMismatch, name, ": history ", shape_string(history.sizes()),
                " does not match the grid ", shape_string(x.sizes()));
}

// x extended along `dim` by `before` / `after` copies of its first / last slice.
torch::Tensor replicate_pad(const torch::Tensor& x, int64_t dim, int64_t before, int64_t after) {
    if (before == 0 && after == 0) {
        return x;
    }
    const int64_t n = x.size(dim);
    torch::Tensor index =
        torch::arange(-before, n + after,
                      torch::TensorOptions().dtype(torch::kLong).device(x.device()))
            .clamp(0, n - 1);
    return x.index_select(dim, index);
}

// cat(last frames of history, x) preceded by replicas of its first frame so that exactly `past`
// frames come before x[0].
torch::Tensor with_past_replicated(const torch::Tensor& x,
                                   const torch::Tensor& history,
                                   int64_t past) {
    torch::Tensor seq = x;
    int64_t have = 0;
    if (has_frames(history)) {
        have = std::min(past, history.size(0));
        seq = torch::cat({history.narrow(0, history.size(0) - have, have).to(x.dtype()), x}, 0);
    }
    return replicate_pad(seq, 0, past - have, 0);
}

torch::Tensor as_float(const torch::Tensor& x) {
    return x.scalar_type() == torch::kFloat ? x : x.to(torch::kFloat);
}

torch::Tensor as_float_or_undefined(const torch::Tensor& x) {
    return x.defined() ? as_float(x) : x;
}

torch::Tensor max_pool_frames(const torch::Tensor& mask_float) {
    return torch::max_pool2d(mask_float.unsqueeze(1), {3, 3}, {1, 1}, {1, 1}).squeeze(1);
}

}  // namespace

torch::Tensor patchify_tokens(const torch::Tensor& z) {
    LIPAR_CHECK(z.defined() && z.dim() == 4, StatusCode::ShapeMismatch,
                "latents must be [C, F, H, W], got ",
                z.defined() ? shape_string(z.sizes()) : std::string("an undefined tensor"));
    const int64_t c = z.size(0), f = z.size(1), h = z.size(2), w = z.size(3);
    LIPAR_CHECK(h % 2 == 0 && w % 2 == 0, StatusCode::ShapeMismatch, "latents ",
                shape_string(z.sizes()), " need an even height and width for 1x2x2 tokens");
    torch::Tensor tokens = as_float(z)
                               .reshape({c, f, h / 2, 2, w / 2, 2})
                               .permute({1, 2, 4, 0, 3, 5})
                               .reshape({f, h / 2, w / 2, c * 4});
    // The detector keeps tokens until commit_block(); the caller may reuse z's buffer.
    return tokens.is_alias_of(z) ? tokens.clone() : tokens;
}

TrimBand trim_band(int64_t n, double trim_low, double trim_high) {
    LIPAR_CHECK(std::isfinite(trim_low) && std::isfinite(trim_high) && trim_low >= 0.0 &&
                    trim_high <= 1.0 && trim_low < trim_high,
                StatusCode::InvalidArgument, "trimmed-mean band [", trim_low, ", ", trim_high,
                ") must satisfy 0 <= low < high <= 1");
    TrimBand band;
    band.lo = static_cast<int64_t>(trim_low * static_cast<double>(n));
    band.hi = static_cast<int64_t>(trim_high * static_cast<double>(n));
    LIPAR_CHECK(band.hi > band.lo, StatusCode::InvalidArgument, "trimmed-mean band [", trim_low,
                ", ", trim_high, ") keeps none of the ", n, " values of a token");
    return band;
}

torch::Tensor fixed_order_sum_last_dim(const torch::Tensor& x) {
    torch::Tensor v = x;
    if (v.size(-1) == 0) {
        std::vector<int64_t> sizes = v.sizes().vec();
        sizes.pop_back();
        return torch::zeros(sizes, v.options());
    }
    while (v.size(-1) > 1) {
        const int64_t n = v.size(-1);
        const int64_t half = n / 2;
        torch::Tensor s = v.narrow(-1, 0, half) + v.narrow(-1, half, half);
        if (n % 2 == 1) {
            s = torch::cat({s, v.narrow(-1, n - 1, 1)}, -1);
        }
        v = s;
    }
    return v.squeeze(-1);
}

torch::Tensor trimmed_mean_abs_diff(const torch::Tensor& a,
                                    const torch::Tensor& b,
                                    double trim_low,
                                    double trim_high) {
    LIPAR_CHECK(
        a.defined() && b.defined() && a.dim() >= 1 && b.dim() >= 1 && a.size(-1) == b.size(-1),
        StatusCode::ShapeMismatch, "trimmed_mean_abs_diff needs two tensors with the same ",
        "last dim, got ", a.defined() ? shape_string(a.sizes()) : "undefined", " and ",
        b.defined() ? shape_string(b.sizes()) : "undefined");
    const TrimBand band = trim_band(a.size(-1), trim_low, trim_high);
    const torch::Tensor diff = (as_float(a) - as_float(b)).abs();
    const torch::Tensor sorted = std::get<0>(diff.sort(-1));
    const torch::Tensor kept = sorted.narrow(-1, band.lo, band.hi - band.lo);
    return fixed_order_sum_last_dim(kept) * static_cast<float>(1.0 / double(band.hi - band.lo));
}

torch::Tensor causal_median3d(const torch::Tensor& x, const torch::Tensor& history) {
    check_grid(x, "causal_median3d input");
    check_history(history, x, "causal_median3d");
    const int64_t f = x.size(0), h = x.size(1), w = x.size(2);
    if (f == 0) {
        return x.clone();
    }
    torch::Tensor seq = with_past_replicated(x, history, 2);
    seq = replicate_pad(replicate_pad(seq, 1, 1, 1), 2, 1, 1);
    const torch::Tensor windows =
        seq.unfold(0, 3, 1).unfold(1, 3, 1).unfold(2, 3, 1).reshape({f, h, w, 27});
    return std::get<0>(windows.median(-1));
}

torch::Tensor centred_median3d(const torch::Tensor& x, const torch::Tensor& history) {
    check_grid(x, "centred_median3d input");
    check_history(history, x, "centred_median3d");
    const int64_t f = x.size(0);
    if (f == 0) {
        return x.clone();
    }
    // The causal median of x shifted one frame back (x[1..], then x[F-1] again) with the last
    // history frame and x[0] as its history: at frame g it reads x[g-1], x[g], x[g+1], the last
    // frame replicated ahead and, without history, the first one behind.
    const torch::Tensor ahead = torch::cat({x.narrow(0, 1, f - 1), x.narrow(0, f - 1, 1)});
    return causal_median3d(ahead, last_frames(history, x.narrow(0, 0, 1), 2));
}

torch::Tensor centred_median3d_mask(const torch::Tensor& mask, const torch::Tensor& history) {
    return centred_median3d(as_float(mask), as_float_or_undefined(history)) > 0.5;
}

torch::Tensor causal_gaussian_kernel(double sigma, const torch::TensorOptions& options) {
    LIPAR_CHECK(std::isfinite(sigma) && sigma > 0.0, StatusCode::InvalidArgument,
                "Gaussian sigma must be positive, got ", sigma);
    std::vector<double> weights;
    double total = 0.0;
    for (int t = -1; t <= 0; ++t) {
        for (int y = -1; y <= 1; ++y) {
            for (int x = -1; x <= 1; ++x) {
                const double value =
                    std::exp(-double(t * t + y * y + x * x) / (2.0 * sigma * sigma));
                weights.push_back(value);
                total += value;
            }
        }
    }
    std::vector<float> normalised;
    for (double value : weights) {
        normalised.push_back(static_cast<float>(value / total));
    }
    return torch::tensor(normalised).reshape({2, 3, 3}).to(options.dtype(torch::kFloat));
}

torch::Tensor causal_gaussian3d(const torch::Tensor& x,
                                const torch::Tensor& history,
                                double sigma) {
    return causal_gaussian3d(x, history, causal_gaussian_kernel(sigma, x.options()));
}

torch::Tensor causal_gaussian3d(const torch::Tensor& x,
                                const torch::Tensor& history,
                                const torch::Tensor& kernel3d) {
    check_grid(x, "causal_gaussian3d input");
    check_history(history, x, "causal_gaussian3d");
    LIPAR_CHECK(kernel3d.defined() && kernel3d.numel() == 18 && kernel3d.device() == x.device(),
                StatusCode::InvalidArgument,
                "causal_gaussian3d needs a [2, 3, 3] kernel on the input's device");
    const int64_t f = x.size(0), h = x.size(1), w = x.size(2);
    const torch::Tensor kernel = as_float(kernel3d).reshape({18});
    if (f == 0) {
        return as_float(x).clone();
    }
    torch::Tensor seq = with_past_replicated(as_float(x), as_float_or_undefined(history), 1);
    seq = replicate_pad(replicate_pad(seq, 1, 1, 1), 2, 1, 1);
    const torch::Tensor windows =
        seq.unfold(0, 2, 1).unfold(1, 3, 1).unfold(2, 3, 1).reshape({f, h, w, 18});
    return fixed_order_sum_last_dim(windows * kernel);
}

torch::Tensor median3d_mask(const torch::Tensor& mask, const torch::Tensor& history) {
    return causal_median3d(as_float(mask), as_float_or_undefined(history)) > 0.5;
}

torch::Tensor erode2d(const torch::Tensor& mask) {
    check_grid(mask, "erode2d input");
    if (mask.numel() == 0) {
        return mask.to(torch::kBool);
    }
    return max_pool_frames(-as_float(mask)) < -0.5;  // min over the window is 1
}

torch::Tensor dilate2d(const torch::Tensor& mask) {
    check_grid(mask, "dilate2d input");
    if (mask.numel() == 0) {
        return mask.to(torch::kBool);
    }
    return max_pool_frames(as_float(mask)) > 0.5;
}

torch::Tensor open2d(const torch::Tensor& mask) {
    return dilate2d(erode2d(mask));
}

torch::Tensor close2d(const torch::Tensor& mask) {
    return erode2d(dilate2d(mask));
}

torch::Tensor causal_dilate(const torch::Tensor& mask,
                            const torch::Tensor& history,
                            int64_t depth,
                            int64_t height,
                            int64_t width) {
    check_grid(mask, "causal_dilate input");
    check_history(history, mask, "causal_dilate");
    LIPAR_CHECK(
        depth > 0 && height > 0 && width > 0 && depth % 2 == 1 && height % 2 == 1 && width % 2 == 1,
        StatusCode::InvalidArgument, "dilation structure (", depth, ", ", height, ", ", width,
        ") must have odd positive sizes");
    if (mask.numel() == 0) {
        return mask.to(torch::kBool);
    }
    const int64_t past = depth / 2;
    std::vector<torch::Tensor> parts;
    int64_t have = 0;
    if (has_frames(history)) {
        have = std::min(past, history.size(0));
    }
    if (past > have) {
        parts.push_back(torch::zeros({past - have, mask.size(1), mask.size(2)},
                                     mask.options().dtype(torch::kFloat)));
    }
    if (have > 0) {
        parts.push_back(as_float(history.narrow(0, history.size(0) - have, have)));
    }
    parts.push_back(as_float(mask));
    const torch::Tensor seq = torch::cat(parts, 0).unsqueeze(0).unsqueeze(0);
    const torch::Tensor pooled =
        torch::max_pool3d(seq, {past + 1, height, width}, {1, 1, 1}, {0, height / 2, width / 2});
    return pooled.squeeze(0).squeeze(0) > 0.5;
}

torch::Tensor look_ahead_dilate(const torch::Tensor& mask, int64_t depth, int64_t height,
                                int64_t width) {
    check_grid(mask, "look_ahead_dilate input");
    // The causal dilation run backwards in time.
    return causal_dilate(mask.flip(0), torch::Tensor(), depth, height, width).flip(0);
}

torch::Tensor chebyshev_distance(const torch::Tensor& mask) {
    check_grid(mask, "chebyshev_distance input");
    const int64_t h = mask.size(1), w = mask.size(2);
    const auto options = mask.options().dtype(torch::kFloat);
    const torch::Tensor far = torch::full({}, double(h + w), options);
    const torch::Tensor keep = mask.to(torch::kBool);
    const torch::Tensor xs = torch::arange(w, options);
    const torch::Tensor ys = torch::arange(h, options);
    // Distance along the row to the nearest kept column: [F, H, W].
    const torch::Tensor dx = (xs.view({w, 1}) - xs.view({1, w})).abs();
    const torch::Tensor row = torch::where(keep.unsqueeze(2), dx, far).amin(-1);
    // Then the Chebyshev combination over rows: min over y' of max(|y - y'|, row[y', x]).
    const torch::Tensor dy = (ys.view({h, 1}) - ys.view({1, h})).abs();
    return torch::maximum(dy.view({1, h, h, 1}), row.unsqueeze(1)).amin(2).clamp_max(double(h + w));
}

torch::Tensor enforce_min_keep_ratio(const torch::Tensor& mask, double min_keep_ratio) {
    check_grid(mask, "enforce_min_keep_ratio input");
    LIPAR_CHECK(std::isfinite(min_keep_ratio) && min_keep_ratio >= 0.0 && min_keep_ratio <= 1.0,
                StatusCode::InvalidArgument, "min_keep_ratio must be within [0, 1], got ",
                min_keep_ratio);
    const torch::Tensor keep = mask.to(torch::kBool);
    const int64_t f = keep.size(0), n = keep.size(1) * keep.size(2);
    if (min_keep_ratio <= 0.0 || f == 0 || n == 0) {
        return keep.clone();
    }
    // Smallest count k with k / n >= ratio, as the authors' loop tests it.
    int64_t needed = static_cast<int64_t>(std::ceil(min_keep_ratio * double(n)));
    needed = std::clamp<int64_t>(needed, 1, n);
    while (needed > 1 && double(needed - 1) / double(n) >= min_keep_ratio) {
        --needed;
    }
    while (needed < n && double(needed) / double(n) < min_keep_ratio) {
        ++needed;
    }
    const torch::Tensor distance = chebyshev_distance(keep);
    const torch::Tensor radius = std::get<0>(distance.reshape({f, n}).kthvalue(needed, -1));
    const torch::Tensor grown = distance <= radius.view({f, 1, 1});
    const torch::Tensor any = keep.reshape({f, n}).any(-1).view({f, 1, 1});
    return torch::where(any, grown, keep);
}

torch::Tensor refresh_reference(const torch::Tensor& reference,
                                const torch::Tensor& tokens,
                                const torch::Tensor& keep) {
    LIPAR_CHECK(tokens.defined() && tokens.dim() == 4 && tokens.size(0) > 0 && keep.defined() &&
                    keep.dim() == 3 && keep.size(0) == tokens.size(0) &&
                    keep.size(1) == tokens.size(1) && keep.size(2) == tokens.size(2),
                StatusCode::ShapeMismatch, "refresh_reference needs tokens [F, H, W, N] and keep ",
                "[F, H, W], got ", tokens.defined() ? shape_string(tokens.sizes()) : "undefined",
                " and ", keep.defined() ? shape_string(keep.sizes()) : "undefined");
    torch::Tensor result = reference.defined() ? reference : tokens[0];
    LIPAR_CHECK(result.sizes() == tokens[0].sizes(), StatusCode::ShapeMismatch,
                "long-term reference ", shape_string(result.sizes()), " does not match tokens ",
                shape_string(tokens.sizes()));
    const torch::Tensor kept = keep.to(torch::kBool).unsqueeze(-1);
    for (int64_t i = 0; i < tokens.size(0); ++i) {
        result = torch::where(kept[i], tokens[i], result);
    }
    return result;
}

torch::Tensor last_frames(const torch::Tensor& history, const torch::Tensor& x, int64_t n) {
    const torch::Tensor all = has_frames(history) ? torch::cat({history.to(x.dtype()), x}, 0) : x;
    const int64_t take = std::min<int64_t>(n, all.size(0));
    return all.narrow(0, all.size(0) - take, take).clone();
}

}  // namespace lipar::accel
