#pragma once
// The style operators the Nano pack learns: deterministic image filters written with LibTorch ops,
// so they run on the CPU (tests, `lipar eval`) and on the GPU (training) alike. Each maps RGB frames
// [N, 3, H, W] float32 in [0, 1] to the same shape and range, frame by frame, with no randomness:
// a static scene gives a static stylization (no flicker of its own).
//
// Sizes in pixels (blur radii, line widths) are chosen for the model resolution (320x192 to
// 832x480) and do not scale with the image.

#include <torch/torch.h>

#include <string>
#include <vector>

namespace lipar::train {

enum class Style {
    Invalid = 0,
    Original,  // identity
    BlackWhite,
    Sepia,
    Negative,
    PencilSketch,
    Watercolor,
    Cartoon,
    OilPainting,
    Thermal,
    NightVision,
    PopArt,
    NeonGlow,
    Blueprint,
};

struct StyleInfo {
    Style style = Style::Invalid;
    std::string name;                    // canonical prompt, e.g. "pencil sketch"
    std::vector<std::string> phrasings;  // training phrasings (the name first)
    std::vector<std::string> held_out;   // phrasings never trained on: the paraphrase tests use them
};

// Every style, Original first.
const std::vector<StyleInfo>& style_catalog();
const StyleInfo& style_info(Style style);
// By canonical name ("black and white"); Style::Invalid when unknown.
Style parse_style(const std::string& name);

// frames [N, 3, H, W] float in [0, 1] (any device) -> stylized, same shape, float32.
torch::Tensor apply_style(Style style, const torch::Tensor& frames);

// Helpers the operators share, exposed for tests.
torch::Tensor luminance(const torch::Tensor& rgb);                    // [N, 1, H, W], Rec. 601
torch::Tensor gaussian_blur(const torch::Tensor& x, double sigma);    // per channel, reflect pad
torch::Tensor sobel_magnitude(const torch::Tensor& gray);             // [N, 1, H, W]

}  // namespace lipar::train
