#pragma once
// A video frame as it travels between capture, engine, preview and encoder: packed 8-bit RGB,
// row-major, no padding (stride == width * 3). No Torch types here: the UI includes this.

#include <cstdint>
#include <memory>
#include <vector>

namespace lipar {

struct Frame {
    int width = 0;
    int height = 0;
    int64_t index = -1;      // position in its source (0-based); a gap means frames were dropped
    double pts_s = 0.0;      // presentation time in seconds
    std::vector<uint8_t> rgb;  // width * height * 3 bytes

    bool empty() const { return width <= 0 || height <= 0 || rgb.empty(); }
    size_t byte_size() const { return static_cast<size_t>(width) * height * 3; }
    uint8_t* pixel(int x, int y) { return rgb.data() + (static_cast<size_t>(y) * width + x) * 3; }
    const uint8_t* pixel(int x, int y) const {
        return rgb.data() + (static_cast<size_t>(y) * width + x) * 3;
    }
    // Allocates (or reuses) storage for a w x h frame.
    void resize(int w, int h) {
        width = w;
        height = h;
        rgb.resize(byte_size());
    }
};

}  // namespace lipar
