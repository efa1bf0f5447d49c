#pragma once
// One output frame of the editor.

#include <cstdint>
#include <vector>

#include "lipar/frame.h"
#include "lipar/params.h"

namespace lipar::pipeline {

struct EditedFrame {
    int64_t index = -1;  // index of the source frame this output stands for
    Frame input;         // that source frame at model resolution
    Frame output;
    Frame baseline;      // compare mode only
    std::vector<uint8_t> keep_mask;  // token grid of its latent frame, 1 = recomputed
    int mask_width = 0, mask_height = 0;
    std::vector<int8_t> motion_field;  // per token (dx, dy) in tokens; empty without local motion
    EditMode mode = EditMode::Invalid;
};

}  // namespace lipar::pipeline
