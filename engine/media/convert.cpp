#include "media/convert.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

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
inline uint8_t clamp_u8(int v) {
    return static_cast<uint8_t>(std::clamp(v, 0, 255));
}

void check_frame(const Frame& f, const char* what) {
    LIPAR_CHECK(!f.empty() && f.rgb.size() >= f.byte_size(), StatusCode::InvalidArgument, what,
                ": empty frame or buffer smaller than ", f.width, "x", f.height, "x3");
}

// Fixed-point (x1024) YUV<->RGB coefficients.
struct Coefficients {
    int kr_v, kg_u, kg_v, kb_u;  // YUV -> RGB
    float yr, yg, yb;            // RGB -> Y
};
Coefficients coefficients(YuvMatrix m) {
    const double kr = m == YuvMatrix::Bt709 ? 0.2126 : 0.299;
    const double kb = m == YuvMatrix::Bt709 ? 0.0722 : 0.114;
    const double kg = 1.0 - kr - kb;
    Coefficients c{};
    c.kr_v = static_cast<int>(std::lround(2.0 * (1.0 - kr) * 1024));
    c.kb_u = static_cast<int>(std::lround(2.0 * (1.0 - kb) * 1024));
    c.kg_u = static_cast<int>(std::lround(2.0 * (1.0 - kb) * kb / kg * 1024));
    c.kg_v = static_cast<int>(std::lround(2.0 * (1.0 - kr) * kr / kg * 1024));
    c.yr = static_cast<float>(kr);
    c.yg = static_cast<float>(kg);
    c.yb = static_cast<float>(kb);
    return c;
}

// Range scaling in fixed point x1024: luma (y - y0) * ys, chroma (c - 128) * cs.
struct RangeScale {
    int y0, ys, cs;
};
RangeScale range_scale(YuvRange r) {
    if (r == YuvRange::Full) {
        return {0, 1024, 1024};
    }
    return {16, static_cast<int>(std::lround(255.0 / 219.0 * 1024)),
            static_cast<int>(std::lround(255.0 / 224.0 * 1024))};
}

inline void yuv_pixel_to_rgb(int y,
                             int u,
                             int v,
                             const Coefficients& c,
                             const RangeScale& s,
                             uint8_t* out) {
    const int yy = (y - s.y0) * s.ys;               // x1024
    const int uu = ((u - 128) * s.cs + 512) >> 10;  // x1
    const int vv = ((v - 128) * s.cs + 512) >> 10;
    out[0] = clamp_u8((yy + c.kr_v * vv + 512) >> 10);
    out[1] = clamp_u8((yy - c.kg_u * uu - c.kg_v * vv + 512) >> 10);
    out[2] = clamp_u8((yy + c.kb_u * uu + 512) >> 10);
}

struct YuvFloat {
    float y, u, v;  // y in [0,255], u/v centred on 0 (full-scale)
};
inline YuvFloat rgb_to_yuv_float(const uint8_t* p, const Coefficients& c) {
    const float r = p[0], g = p[1], b = p[2];
    const float y = c.yr * r + c.yg * g + c.yb * b;
    return {y, (b - y) / (2.0f * (1.0f - c.yb)), (r - y) / (2.0f * (1.0f - c.yr))};
}
inline uint8_t encode_luma(float y, YuvRange r) {
    return clamp_u8(r == YuvRange::Full ? y : 16.0f + y * (219.0f / 255.0f));
}
inline uint8_t encode_chroma(float c, YuvRange r) {
    return clamp_u8(128.0f + (r == YuvRange::Full ? c : c * (224.0f / 255.0f)));
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

YuvMatrix default_matrix_for(int height) {
    return height >= 720 ? YuvMatrix::Bt709 : YuvMatrix::Bt601;
}

void yuv420p_to_rgb(const YuvPlanes& in,
                    int width,
                    int height,
                    YuvMatrix matrix,
                    YuvRange range,
                    Frame& out) {
    LIPAR_CHECK(width > 0 && height > 0, StatusCode::InvalidArgument, "yuv420p_to_rgb: size ",
                width, "x", height);
    out.resize(width, height);
    const Coefficients c = coefficients(matrix);
    const RangeScale s = range_scale(range);
    const int cw = chroma_extent(width);
    const int ch = chroma_extent(height);
    // Bilinear chroma: luma pixel x sits at chroma coordinate (x - 0.5) / 2, i.e. 3/4 of the
    // nearer and 1/4 of the farther chroma sample; (x - 1) >> 1 is the left one of the pair.
    std::vector<int> u_row(static_cast<size_t>(cw)), v_row(static_cast<size_t>(cw));
    for (int y = 0; y < height; ++y) {
        const int cy0 = std::clamp((y - 1) >> 1, 0, ch - 1);
        const int cy1 = std::clamp(((y - 1) >> 1) + 1, 0, ch - 1);
        const int wy1 = (y & 1) ? 1 : 3;  // weight of cy1, x4
        const uint8_t* u0 = in.u + static_cast<size_t>(cy0) * in.uv_stride;
        const uint8_t* u1 = in.u + static_cast<size_t>(cy1) * in.uv_stride;
        const uint8_t* v0 = in.v + static_cast<size_t>(cy0) * in.uv_stride;
        const uint8_t* v1 = in.v + static_cast<size_t>(cy1) * in.uv_stride;
        for (int x = 0; x < cw; ++x) {
            u_row[x] = u0[x] * (4 - wy1) + u1[x] * wy1;  // x4
            v_row[x] = v0[x] * (4 - wy1) + v1[x] * wy1;
        }
        const uint8_t* yrow = in.y + static_cast<size_t>(y) * in.y_stride;
        uint8_t* o = out.rgb.data() + static_cast<size_t>(y) * width * 3;
        for (int x = 0; x < width; ++x) {
            const int cx0 = std::clamp((x - 1) >> 1, 0, cw - 1);
            const int cx1 = std::clamp(((x - 1) >> 1) + 1, 0, cw - 1);
            const int wx1 = (x & 1) ? 1 : 3;
            const int u = (u_row[cx0] * (4 - wx1) + u_row[cx1] * wx1 + 8) >> 4;
            const int v = (v_row[cx0] * (4 - wx1) + v_row[cx1] * wx1 + 8) >> 4;
            yuv_pixel_to_rgb(yrow[x], u, v, c, s, o + x * 3);
        }
    }
}

void rgb_to_yuv420p(const Frame& in,
                    const MutableYuvPlanes& out,
                    YuvMatrix matrix,
                    YuvRange range) {
    check_frame(in, "rgb_to_yuv420p");
    const Coefficients c = coefficients(matrix);
    const int w = in.width;
    const int h = in.height;
    for (int y = 0; y < h; ++y) {
        uint8_t* yrow = out.y + static_cast<size_t>(y) * out.y_stride;
        for (int x = 0; x < w; ++x) {
            yrow[x] = encode_luma(rgb_to_yuv_float(in.pixel(x, y), c).y, range);
        }
    }
    for (int cy = 0; cy < chroma_extent(h); ++cy) {
        uint8_t* urow = out.u + static_cast<size_t>(cy) * out.uv_stride;
        uint8_t* vrow = out.v + static_cast<size_t>(cy) * out.uv_stride;
        for (int cx = 0; cx < chroma_extent(w); ++cx) {
            float su = 0, sv = 0;
            int n = 0;
            for (int dy = 0; dy < 2; ++dy) {
                for (int dx = 0; dx < 2; ++dx) {
                    const int x = cx * 2 + dx;
                    const int y = cy * 2 + dy;
                    if (x < w && y < h) {
                        const YuvFloat p = rgb_to_yuv_float(in.pixel(x, y), c);
                        su += p.u;
                        sv += p.v;
                        ++n;
                    }
                }
            }
            urow[cx] = encode_chroma(su / n, range);
            vrow[cx] = encode_chroma(sv / n, range);
        }
    }
}

void yuv444p_to_rgb(const YuvPlanes& in,
                    int width,
                    int height,
                    YuvMatrix matrix,
                    YuvRange range,
                    Frame& out) {
    LIPAR_CHECK(width > 0 && height > 0, StatusCode::InvalidArgument, "yuv444p_to_rgb: size ",
                width, "x", height);
    out.resize(width, height);
    const Coefficients c = coefficients(matrix);
    const RangeScale s = range_scale(range);
    for (int y = 0; y < height; ++y) {
        const uint8_t* yr = in.y + static_cast<size_t>(y) * in.y_stride;
        const uint8_t* ur = in.u + static_cast<size_t>(y) * in.uv_stride;
        const uint8_t* vr = in.v + static_cast<size_t>(y) * in.uv_stride;
        uint8_t* o = out.rgb.data() + static_cast<size_t>(y) * width * 3;
        for (int x = 0; x < width; ++x) {
            yuv_pixel_to_rgb(yr[x], ur[x], vr[x], c, s, o + x * 3);
        }
    }
}

void rgb_to_yuv444p(const Frame& in,
                    const MutableYuvPlanes& out,
                    YuvMatrix matrix,
                    YuvRange range) {
    check_frame(in, "rgb_to_yuv444p");
    const Coefficients c = coefficients(matrix);
    for (int y = 0; y < in.height; ++y) {
        uint8_t* yr = out.y + static_cast<size_t>(y) * out.y_stride;
        uint8_t* ur = out.u + static_cast<size_t>(y) * out.uv_stride;
        uint8_t* vr = out.v + static_cast<size_t>(y) * out.uv_stride;
        for (int x = 0; x < in.width; ++x) {
            const YuvFloat p = rgb_to_yuv_float(in.pixel(x, y), c);
            yr[x] = encode_luma(p.y, range);
            ur[x] = encode_chroma(p.u, range);
            vr[x] = encode_chroma(p.v, range);
        }
    }
}

double psnr_db(const Frame& a, const Frame& b) {
    LIPAR_CHECK(a.width == b.width && a.height == b.height && a.rgb.size() == b.rgb.size(),
                StatusCode::InvalidArgument, "psnr_db: frame sizes differ (", a.width, "x",
                a.height, " vs ", b.width, "x", b.height, ")");
    double sse = 0.0;
    for (size_t i = 0; i < a.rgb.size(); ++i) {
        const double d = static_cast<double>(a.rgb[i]) - b.rgb[i];
        sse += d * d;
    }
    if (sse == 0.0 || a.rgb.empty()) {
        return std::numeric_limits<double>::infinity();
    }
    const double mse = sse / static_cast<double>(a.rgb.size());
    return 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace lipar::media
