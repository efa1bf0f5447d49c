#pragma once
// Pixel conversion and fitting frames to the model's size, in plain C++ (no FFmpeg, no Torch).
//
// YUV here is 8-bit planar; the matrix (BT.601 / BT.709) and range (limited 16-235 / full) are
// explicit. Chroma is siting-agnostic: 4:2:0 is down-sampled by 2x2 averaging and up-sampled by
// bilinear interpolation around the sample centres.

#include <cstdint>
#include <string>
#include <utility>

#include "lipar/frame.h"

namespace lipar::media {

enum class FitMode {
    Invalid = 0,
    Crop,     // scale to cover the target, centre crop the overflow
    Pad,      // scale to fit inside the target, black bars
    Stretch,  // scale each axis independently
};

// "crop", "pad", "stretch" (case-insensitive); Invalid for anything else.
FitMode parse_fit_mode(const std::string& name);
const char* fit_mode_name(FitMode mode);

// Separable bilinear (triangle) resampling, centre-aligned; when shrinking, the triangle widens
// with the scale factor so down-scaled frames do not alias. Returns a copy
// when the size already matches. Throws InvalidArgument for an empty source or a size <= 0.
Frame resize_bilinear(const Frame& src, int width, int height);

// Scales src into a width x height frame following mode; keeps index and pts_s.
Frame fit_frame(const Frame& src, int width, int height, FitMode mode);

// A model input size near the source aspect: both sides multiples of `multiple` (16 for the DiT:
// 8x VAE then 2x2 patches), width * height <= max_pixels, as large as the budget allows without
// up-scaling past the source. Throws InvalidArgument for non-positive inputs.
std::pair<int, int> model_size_for(int width,
                                   int height,
                                   int multiple = 16,
                                   int max_pixels = 832 * 480);

enum class YuvMatrix { Bt601, Bt709 };
enum class YuvRange { Limited, Full };

// What players assume for untagged video: BT.709 from 720 lines up, BT.601 below.
YuvMatrix default_matrix_for(int height);

struct YuvPlanes {  // borrowed pointers; chroma planes are (width+1)/2 x (height+1)/2 for 4:2:0
    const uint8_t* y = nullptr;
    const uint8_t* u = nullptr;
    const uint8_t* v = nullptr;
    int y_stride = 0;
    int uv_stride = 0;
};
struct MutableYuvPlanes {
    uint8_t* y = nullptr;
    uint8_t* u = nullptr;
    uint8_t* v = nullptr;
    int y_stride = 0;
    int uv_stride = 0;
};

// Chroma plane size for a subsampled (4:2:0) picture.
inline int chroma_extent(int luma_extent) {
    return (luma_extent + 1) / 2;
}

void yuv420p_to_rgb(const YuvPlanes& in,
                    int width,
                    int height,
                    YuvMatrix matrix,
                    YuvRange range,
                    Frame& out);
void rgb_to_yuv420p(const Frame& in, const MutableYuvPlanes& out, YuvMatrix matrix, YuvRange range);
void yuv444p_to_rgb(const YuvPlanes& in,
                    int width,
                    int height,
                    YuvMatrix matrix,
                    YuvRange range,
                    Frame& out);
void rgb_to_yuv444p(const Frame& in, const MutableYuvPlanes& out, YuvMatrix matrix, YuvRange range);

// Peak signal-to-noise ratio over all RGB bytes, in dB (infinity when identical). Throws
// InvalidArgument when the sizes differ.
double psnr_db(const Frame& a, const Frame& b);

}  // namespace lipar::media
