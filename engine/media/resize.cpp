// Resampling and fitting frames to the model size (convert.h).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "media/convert.h"

namespace lipar::media {
namespace {

struct Taps {
    std::vector<int> first;      // first source index per output index
    std::vector<int> count;      // taps per output index
    std::vector<float> weights;  // count[i] weights per output index, at offset i * max_taps
    int max_taps = 0;
};

// Triangle-filter taps mapping in_size samples to out_size, centre-aligned.
Taps make_taps(int in_size, int out_size) {
    Taps taps;
    const double scale = static_cast<double>(in_size) / out_size;
    const double support = std::max(1.0, scale);
    taps.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
    taps.first.resize(out_size);
    taps.count.resize(out_size);
    taps.weights.assign(static_cast<size_t>(out_size) * taps.max_taps, 0.0f);
    for (int i = 0; i < out_size; ++i) {
        const double centre = (i + 0.5) * scale;
        int lo = static_cast<int>(std::floor(centre - support));
        int hi = static_cast<int>(std::ceil(centre + support));
        lo = std::max(lo, 0);
        hi = std::min(hi, in_size);
        double sum = 0.0;
        int n = 0;
        float* w = &taps.weights[static_cast<size_t>(i) * taps.max_taps];
        for (int j = lo; j < hi && n < taps.max_taps; ++j, ++n) {
            const double d = std::abs((j + 0.5 - centre) / support);
            const double value = d < 1.0 ? 1.0 - d : 0.0;
            w[n] = static_cast<float>(value);
            sum += value;
        }
        if (sum <= 0.0) {  // cannot happen for sane sizes; fall back to nearest
            n = 1;
            lo = std::clamp(static_cast<int>(centre), 0, in_size - 1);
            w[0] = 1.0f;
            sum = 1.0;
        }
        for (int k = 0; k < n; ++k) {
            w[k] = static_cast<float>(w[k] / sum);
        }
        taps.first[i] = lo;
        taps.count[i] = n;
    }
    return taps;
}

inline uint8_t clamp_u8(float v) {
    return static_cast<uint8_t>(std::clamp(v + 0.5f, 0.0f, 255.0f));
}

void check_frame(const Frame& f, const char* what) {
    LIPAR_CHECK(!f.empty() && f.rgb.size() >= f.byte_size(), StatusCode::InvalidArgument, what,
                ": empty frame or buffer smaller than ", f.width, "x", f.height, "x3");
}

}  // namespace

FitMode parse_fit_mode(const std::string& name) {
    std::string n = name;
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (n == "crop")
        return FitMode::Crop;
    if (n == "pad")
        return FitMode::Pad;
    if (n == "stretch")
        return FitMode::Stretch;
    return FitMode::Invalid;
}

const char* fit_mode_name(FitMode mode) {
    switch (mode) {
        case FitMode::Crop:
            return "crop";
        case FitMode::Pad:
            return "pad";
        case FitMode::Stretch:
            return "stretch";
        default:
            return "invalid";
    }
}

Frame resize_bilinear(const Frame& src, int width, int height) {
    check_frame(src, "resize_bilinear");
    LIPAR_CHECK(width > 0 && height > 0, StatusCode::InvalidArgument,
                "resize_bilinear: target size ", width, "x", height, " must be positive");
    if (width == src.width && height == src.height) {
        return src;
    }
    const Taps tx = make_taps(src.width, width);
    const Taps ty = make_taps(src.height, height);
    // Horizontal pass into floats (src.height x width), then vertical.
    std::vector<float> mid(static_cast<size_t>(src.height) * width * 3);
    for (int y = 0; y < src.height; ++y) {
        const uint8_t* row = src.rgb.data() + static_cast<size_t>(y) * src.width * 3;
        float* out = mid.data() + static_cast<size_t>(y) * width * 3;
        for (int x = 0; x < width; ++x) {
            const float* w = &tx.weights[static_cast<size_t>(x) * tx.max_taps];
            const uint8_t* p = row + static_cast<size_t>(tx.first[x]) * 3;
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < tx.count[x]; ++k, p += 3) {
                r += w[k] * p[0];
                g += w[k] * p[1];
                b += w[k] * p[2];
            }
            out[x * 3 + 0] = r;
            out[x * 3 + 1] = g;
            out[x * 3 + 2] = b;
        }
    }
    Frame dst;
    dst.index = src.index;
    dst.pts_s = src.pts_s;
    dst.resize(width, height);
    const size_t row_floats = static_cast<size_t>(width) * 3;
    std::vector<float> acc(row_floats);
    for (int y = 0; y < height; ++y) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        const float* w = &ty.weights[static_cast<size_t>(y) * ty.max_taps];
        for (int k = 0; k < ty.count[y]; ++k) {
            const float* row = mid.data() + static_cast<size_t>(ty.first[y] + k) * row_floats;
            const float wk = w[k];
            for (size_t i = 0; i < row_floats; ++i) {
                acc[i] += wk * row[i];
            }
        }
        uint8_t* out = dst.rgb.data() + static_cast<size_t>(y) * row_floats;
        for (size_t i = 0; i < row_floats; ++i) {
            out[i] = clamp_u8(acc[i]);
        }
    }
    return dst;
}

Frame fit_frame(const Frame& src, int width, int height, FitMode mode) {
    check_frame(src, "fit_frame");
    LIPAR_CHECK(width > 0 && height > 0, StatusCode::InvalidArgument, "fit_frame: target size ",
                width, "x", height, " must be positive");
    if (mode == FitMode::Stretch || (src.width == width && src.height == height)) {
        return resize_bilinear(src, width, height);
    }
    LIPAR_CHECK(mode == FitMode::Crop || mode == FitMode::Pad, StatusCode::InvalidArgument,
                "fit_frame: unknown fit mode (use crop, pad or stretch)");
    const double sx = static_cast<double>(width) / src.width;
    const double sy = static_cast<double>(height) / src.height;
    const double scale = mode == FitMode::Crop ? std::max(sx, sy) : std::min(sx, sy);
    const int sw = std::max(1, static_cast<int>(std::lround(src.width * scale)));
    const int sh = std::max(1, static_cast<int>(std::lround(src.height * scale)));
    const Frame scaled = resize_bilinear(src, sw, sh);
    Frame dst;
    dst.index = src.index;
    dst.pts_s = src.pts_s;
    dst.resize(width, height);
    std::fill(dst.rgb.begin(), dst.rgb.end(), 0);
    // Crop: offsets into the scaled frame; Pad: offsets into the destination.
    const int ox = (sw - width) / 2;
    const int oy = (sh - height) / 2;
    const int copy_w = std::min(sw, width);
    const int copy_h = std::min(sh, height);
    for (int y = 0; y < copy_h; ++y) {
        const int src_y = mode == FitMode::Crop ? y + std::max(oy, 0) : y;
        const int dst_y = mode == FitMode::Crop ? y : y - std::min(oy, 0);
        const int src_x = mode == FitMode::Crop ? std::max(ox, 0) : 0;
        const int dst_x = mode == FitMode::Crop ? 0 : -std::min(ox, 0);
        std::copy_n(scaled.pixel(src_x, src_y), static_cast<size_t>(copy_w) * 3,
                    dst.pixel(dst_x, dst_y));
    }
    return dst;
}

std::pair<int, int> model_size_for(int width, int height, int multiple, int max_pixels) {
    LIPAR_CHECK(width > 0 && height > 0 && multiple > 0 && max_pixels >= multiple * multiple,
                StatusCode::InvalidArgument, "model_size_for: bad request ", width, "x", height,
                " multiple ", multiple, " max_pixels ", max_pixels);
    const double aspect = static_cast<double>(width) / height;
    // Largest area within budget that does not exceed the source (rounded up to the grid), then
    // snap to the grid and pick the candidate (each side rounded down or up) closest in aspect.
    const auto round_up = [multiple](int v) {
        return static_cast<int64_t>((v + multiple - 1) / multiple) * multiple;
    };
    const int64_t limit = std::min<int64_t>(max_pixels, round_up(width) * round_up(height));
    const double area =
        std::min<double>(static_cast<double>(limit), static_cast<double>(width) * height);
    const double ideal_h = std::sqrt(area / aspect);
    const double ideal_w = ideal_h * aspect;
    std::pair<int, int> best{multiple, multiple};
    double best_err = std::numeric_limits<double>::infinity();
    const int base_w = std::max(1, static_cast<int>(ideal_w / multiple));
    const int base_h = std::max(1, static_cast<int>(ideal_h / multiple));
    for (int dw = -1; dw <= 1; ++dw) {
        for (int dh = -1; dh <= 1; ++dh) {
            const int w = (base_w + dw) * multiple;
            const int h = (base_h + dh) * multiple;
            if (w < multiple || h < multiple || static_cast<int64_t>(w) * h > limit) {
                continue;
            }
            // Prefer the aspect match, then the larger area.
            const double err = std::abs(std::log((static_cast<double>(w) / h) / aspect)) -
                               1e-9 * (static_cast<double>(w) * h);
            if (err < best_err) {
                best_err = err;
                best = {w, h};
            }
        }
    }
    return best;
}

}  // namespace lipar::media
