#include "train/styles.h"

#include <cmath>

#include "core/error.h"

namespace lipar::train {

namespace F = torch::nn::functional;

namespace {

// {style, name, training phrasings (name first), held-out phrasings}
std::vector<StyleInfo> make_catalog() {
    return {
        {Style::Original,
         "original",
         {"original", "", "the original video", "no effect", "unchanged", "keep it as it is",
          "natural colors", "as it is", "no filter", "realistic", "normal", "plain video",
          "do nothing", "leave it unchanged", "the real colors", "untouched footage"},
         {"no change please", "keep the original look"}},
        {Style::BlackWhite,
         "black and white",
         {"black and white", "black & white", "monochrome", "grayscale", "greyscale", "b&w",
          "a black and white film", "colorless", "desaturated", "black-and-white photo",
          "shades of gray", "old black and white movie", "remove the colors", "gray tones"},
         {"make it monochrome black and white", "in shades of grey"}},
        {Style::Sepia,
         "sepia",
         {"sepia", "sepia tone", "old photograph", "vintage brown photo", "antique photo",
          "sepia toned", "old-timey brown", "faded brown photograph", "nineteenth century photo",
          "brownish vintage", "an old sepia picture", "warm brown antique look"},
         {"like an antique sepia photograph", "vintage sepia"}},
        {Style::Negative,
         "negative",
         {"negative", "inverted colors", "invert", "color negative", "photo negative",
          "inverse colors", "invert the colours", "film negative", "reversed colors",
          "negative image", "flip the colors", "x-ray negative look"},
         {"as a photographic negative", "inverted colours"}},
        {Style::PencilSketch,
         "pencil sketch",
         {"pencil sketch", "pencil drawing", "graphite sketch", "sketch", "hand-drawn sketch",
          "drawn in pencil", "charcoal sketch", "line drawing", "sketchbook drawing",
          "a rough pencil sketch", "drawing on white paper", "graphite drawing"},
         {"a sketch made with a pencil", "pencil art"}},
        {Style::Watercolor,
         "watercolor",
         {"watercolor", "watercolour painting", "aquarelle", "watercolor painting",
          "painted in watercolors", "soft watercolor", "watercolours", "wet paint wash",
          "a watercolor illustration", "pastel watercolor", "painted with water colors",
          "watercolor art"},
         {"like a watercolour", "a delicate watercolor"}},
        {Style::Cartoon,
         "cartoon",
         {"cartoon", "comic", "animated cartoon", "toon", "cel shaded", "comic book",
          "cartoon style", "anime", "a cartoon drawing", "flat cartoon colors",
          "saturday morning cartoon", "comic strip"},
         {"make it look like a cartoon", "cartoonish"}},
        {Style::OilPainting,
         "oil painting",
         {"oil painting", "painted in oils", "oil on canvas", "impasto", "classical painting",
          "oil paint", "an oil painting", "thick brush strokes", "painterly", "museum painting",
          "oil painted portrait", "canvas painting"},
         {"as if painted with oil paints", "like an old master painting"}},
        {Style::Thermal,
         "thermal camera",
         {"thermal camera", "thermal imaging", "infrared heat map", "heat vision", "flir",
          "thermography", "thermal", "heat map", "infrared camera", "thermal vision",
          "heat signature", "thermal scan"},
         {"seen through a thermal camera", "infrared thermal imaging"}},
        {Style::NightVision,
         "night vision",
         {"night vision", "night-vision goggles", "nvg", "green night vision",
          "military night vision", "night vision camera", "nightvision", "low light green",
          "seen through night vision goggles", "night scope", "green phosphor",
          "infrared night vision"},
         {"through night vision", "night-vision"}},
        {Style::PopArt,
         "pop art",
         {"pop art", "andy warhol style", "warhol", "pop-art poster", "bold pop colors",
          "pop art print", "screen print", "retro pop art", "warhol poster",
          "sixties pop art", "silkscreen", "pop art colors"},
         {"like a warhol painting", "a pop art painting"}},
        {Style::NeonGlow,
         "neon glow",
         {"neon glow", "neon", "glowing neon lines", "cyberpunk neon", "neon lights", "tron style",
          "glowing edges", "neon outline", "synthwave neon", "electric glow", "neon sign",
          "glow in the dark"},
         {"with a neon glow", "bright neon"}},
        {Style::Blueprint,
         "blueprint",
         {"blueprint", "architectural blueprint", "technical drawing", "cyanotype blueprint",
          "white lines on blue", "engineering blueprint", "blue print", "schematic drawing",
          "blueprint plan", "drafting blueprint"},
         {"like a blueprint", "an engineer's blueprint"}},
    };
}

torch::Tensor rgb_constant(double r, double g, double b, const torch::Tensor& like) {
    return torch::tensor({r, g, b}, like.options()).view({1, 3, 1, 1});
}

torch::Tensor saturate(const torch::Tensor& x, double amount) {
    auto mean = x.mean(1, true);
    return (mean + (x - mean) * amount).clamp(0.0, 1.0);
}

// Piecewise-linear colour map: gray [N, 1, H, W] in [0, 1] -> [N, 3, H, W].
torch::Tensor colour_map(const torch::Tensor& gray, const std::vector<std::array<double, 3>>& stops) {
    const auto k = static_cast<int64_t>(stops.size());
    std::vector<float> flat;
    for (const auto& s : stops)
        for (double v : s) flat.push_back(static_cast<float>(v));
    auto palette = torch::from_blob(flat.data(), {k, 3}, torch::kFloat32).clone().to(gray.device());
    auto pos = gray.clamp(0.0, 1.0) * static_cast<double>(k - 1);
    auto i0 = pos.floor().clamp(0, k - 2).to(torch::kInt64);
    auto frac = (pos - i0.to(torch::kFloat32));
    auto c0 = palette.index_select(0, i0.flatten()).view({gray.size(0), gray.size(2), gray.size(3), 3});
    auto c1 = palette.index_select(0, (i0 + 1).flatten())
                  .view({gray.size(0), gray.size(2), gray.size(3), 3});
    auto f = frac.squeeze(1).unsqueeze(-1);
    return (c0 + (c1 - c0) * f).permute({0, 3, 1, 2}).contiguous();
}

torch::Tensor kuwahara(const torch::Tensor& x, int64_t r) {
    const int64_t h = x.size(2), w = x.size(3);
    auto lum = luminance(x);
    auto padded = F::pad(torch::cat({x, lum, lum * lum}, 1),
                         F::PadFuncOptions({r, r, r, r}).mode(torch::kReplicate));
    auto mean = F::avg_pool2d(padded, F::AvgPool2dFuncOptions(r + 1).stride(1));
    std::vector<torch::Tensor> means, vars;
    for (int64_t oy : {int64_t(0), r}) {
        for (int64_t ox : {int64_t(0), r}) {
            auto m = mean.narrow(2, oy, h).narrow(3, ox, w);
            means.push_back(m.narrow(1, 0, 3));
            auto el = m.narrow(1, 3, 1), el2 = m.narrow(1, 4, 1);
            vars.push_back(el2 - el * el);
        }
    }
    auto var = torch::cat(vars, 1);                  // [N, 4, H, W]
    auto best = var.argmin(1, true);                 // [N, 1, H, W]
    auto stacked = torch::stack(means, 1);           // [N, 4, 3, H, W]
    auto index = best.unsqueeze(2).expand({x.size(0), 1, 3, h, w});
    return stacked.gather(1, index).squeeze(1);
}

}  // namespace

const std::vector<StyleInfo>& style_catalog() {
    static const std::vector<StyleInfo> catalog = make_catalog();
    return catalog;
}

const StyleInfo& style_info(Style style) {
    for (const auto& s : style_catalog())
        if (s.style == style) return s;
    fail(StatusCode::InvalidArgument, "unknown style");
}

Style parse_style(const std::string& name) {
    for (const auto& s : style_catalog())
        if (s.name == name) return s.style;
    return Style::Invalid;
}

torch::Tensor luminance(const torch::Tensor& rgb) {
    return rgb.narrow(1, 0, 1) * 0.299 + rgb.narrow(1, 1, 1) * 0.587 + rgb.narrow(1, 2, 1) * 0.114;
}

torch::Tensor gaussian_blur(const torch::Tensor& x, double sigma) {
    const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3.0 * sigma)));
    const int64_t c = x.size(1);
    auto i = torch::arange(-radius, radius + 1, x.options().dtype(torch::kFloat32));
    auto k = torch::exp(-(i * i) / (2.0 * sigma * sigma));
    k = k / k.sum();
    auto kx = k.view({1, 1, 1, -1}).repeat({c, 1, 1, 1});
    auto ky = k.view({1, 1, -1, 1}).repeat({c, 1, 1, 1});
    auto p = F::pad(x, F::PadFuncOptions({radius, radius, radius, radius}).mode(torch::kReplicate));
    auto y = F::conv2d(p, kx, F::Conv2dFuncOptions().groups(c));
    return F::conv2d(y, ky, F::Conv2dFuncOptions().groups(c));
}

torch::Tensor sobel_magnitude(const torch::Tensor& gray) {
    auto gx = torch::tensor({-1.f, 0.f, 1.f, -2.f, 0.f, 2.f, -1.f, 0.f, 1.f}, gray.options())
                  .view({1, 1, 3, 3}) / 4.0;
    auto gy = gx.transpose(2, 3).contiguous();
    auto p = F::pad(gray, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate));
    auto dx = F::conv2d(p, gx), dy = F::conv2d(p, gy);
    return torch::sqrt(dx * dx + dy * dy + 1e-12);
}

torch::Tensor apply_style(Style style, const torch::Tensor& frames) {
    LIPAR_CHECK(frames.dim() == 4 && frames.size(1) == 3, StatusCode::ShapeMismatch,
                "style operators take RGB frames [N, 3, H, W]");
    const auto x = frames.to(torch::kFloat32).clamp(0.0, 1.0);
    switch (style) {
        case Style::Original: return x.clone();
        case Style::BlackWhite: return luminance(x).expand_as(x).contiguous();
        case Style::Sepia: {
            auto m = torch::tensor({0.393f, 0.769f, 0.189f, 0.349f, 0.686f, 0.168f, 0.272f, 0.534f,
                                    0.131f},
                                   x.options())
                         .view({3, 3, 1, 1});
            return F::conv2d(x, m).clamp(0.0, 1.0);
        }
        case Style::Negative: return 1.0 - x;
        case Style::PencilSketch: {
            auto g = luminance(x);
            auto inv_blur = gaussian_blur(1.0 - g, 3.0);
            auto dodge = (g / (1.0 - inv_blur + 0.02)).clamp(0.0, 1.0);
            return dodge.pow(2.0).expand_as(x).contiguous();
        }
        case Style::Watercolor: {
            auto s = gaussian_blur(x, 2.0);
            auto edges = sobel_magnitude(luminance(gaussian_blur(x, 1.0)));
            auto w = s * (1.0 - (edges * 2.5).clamp(0.0, 0.6));
            w = saturate(w, 1.25) * 0.85 + 0.15;
            return w.clamp(0.0, 1.0);
        }
        case Style::Cartoon: {
            auto b = gaussian_blur(x, 1.5);
            auto q = torch::floor(b * 5.0 + 0.5) / 5.0;
            auto edges = sobel_magnitude(luminance(b));
            auto line = ((edges - 0.06) * 12.0).clamp(0.0, 1.0);
            return (saturate(q, 1.3) * (1.0 - line)).clamp(0.0, 1.0);
        }
        case Style::OilPainting: {
            auto k = kuwahara(x, 3);
            return saturate((k - 0.5) * 1.1 + 0.5, 1.35);
        }
        case Style::Thermal: {
            auto l = gaussian_blur(luminance(x), 1.0);
            return colour_map(l, {{0.0, 0.0, 0.05},
                                  {0.3, 0.0, 0.5},
                                  {0.75, 0.05, 0.45},
                                  {1.0, 0.35, 0.0},
                                  {1.0, 0.75, 0.0},
                                  {1.0, 1.0, 0.85}});
        }
        case Style::NightVision: {
            const int64_t h = x.size(2), w = x.size(3);
            auto l = (luminance(x) * 1.6).clamp(0.0, 1.0).pow(0.8);
            auto ys = torch::linspace(-1.0, 1.0, h, x.options()).view({1, 1, h, 1});
            auto xs = torch::linspace(-1.0, 1.0, w, x.options()).view({1, 1, 1, w});
            auto vignette = (1.0 - 0.45 * (xs * xs + ys * ys)).clamp(0.0, 1.0);
            auto rows = torch::arange(h, x.options()).view({1, 1, h, 1});
            auto scan = 1.0 - 0.15 * torch::remainder(rows, 2.0);
            auto green = rgb_constant(0.15, 1.0, 0.25, x);
            return (green * l * vignette * scan + 0.02).clamp(0.0, 1.0);
        }
        case Style::PopArt: {
            auto l = gaussian_blur(luminance(x), 1.0);
            auto level = torch::floor(l * 4.0).clamp(0, 3);  // 4 flat colours
            return colour_map(level / 3.0, {{0.1, 0.1, 0.45},
                                            {0.9, 0.1, 0.55},
                                            {1.0, 0.85, 0.1},
                                            {0.55, 0.95, 1.0}});
        }
        case Style::NeonGlow: {
            auto e = (sobel_magnitude(luminance(gaussian_blur(x, 1.0))) * 4.0).clamp(0.0, 1.0);
            auto colour = ((x - x.mean(1, true)) * 3.0 + 0.5).clamp(0.0, 1.0);
            auto lines = e * colour;
            auto glow = gaussian_blur(lines, 3.0);
            return (0.08 * x + lines * 1.5 + glow * 2.0).clamp(0.0, 1.0);
        }
        case Style::Blueprint: {
            auto b = gaussian_blur(x, 1.0);
            auto e = (sobel_magnitude(luminance(b)) * 5.0).clamp(0.0, 1.0);
            auto bg = rgb_constant(0.05, 0.2, 0.55, x) + 0.1 * luminance(b);
            auto ink = rgb_constant(0.9, 0.95, 1.0, x);
            return (bg * (1.0 - e) + ink * e).clamp(0.0, 1.0);
        }
        case Style::Invalid: break;
    }
    fail(StatusCode::InvalidArgument, "apply_style: invalid style");
}

}  // namespace lipar::train
