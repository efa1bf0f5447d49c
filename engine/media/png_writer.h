#pragma once
// Writes an RGB frame as a PNG file (8-bit truecolour, no interlace): deflate-compressed through
// zlib when the build has it, stored (uncompressed deflate blocks) otherwise. Written to a
// temporary name and renamed, so `path` is either untouched or complete. Throws Error(IoError).

#include <string>

#include "lipar/frame.h"

namespace lipar::media {

void write_png(const Frame& frame, const std::string& path);

}  // namespace lipar::media
