#pragma once
// Burned-in text labels for exported side-by-side videos ("BASELINE 8.4 FPS" | "LIPAR 12.2 FPS"),
// with a built-in 5x7 pixel font: no font files, no FreeType. Letters are upper-cased; unknown
// characters draw as blanks.

#include <cstdint>
#include <string>

#include "lipar/frame.h"

namespace lipar::media {

struct LabelStyle {
    int scale = 2;                   // pixels per font pixel
    uint8_t r = 255, g = 255, b = 255;
    bool background = true;          // dark box behind the text for legibility
};

// Draws text with its top-left corner at (x, y); clipped to the frame.
void draw_label(Frame& frame, int x, int y, const std::string& text, const LabelStyle& style = {});
// Width in pixels of text at a scale.
int label_width(const std::string& text, int scale);

// [a | b] side by side (heights must match); a gets `label_a`, b `label_b` (empty = none).
Frame side_by_side(const Frame& a, const Frame& b, const std::string& label_a = {},
                   const std::string& label_b = {});

}  // namespace lipar::media
