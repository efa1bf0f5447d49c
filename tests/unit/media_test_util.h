#pragma once
// Helpers shared by the media tests: temporary files and synthetic frames.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "lipar/frame.h"

namespace lipar::media::test {

inline std::string clip_path(const std::string& name) {
    return std::string(LIPAR_SHARED_DIR) + "/data/clips/" + name;
}

using lipar::test::TempDir;  // tests/common/temp_dir.h

inline std::vector<char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const char* data, size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data, static_cast<std::streamsize>(size));
}

// A diagonal colour gradient with a white square that moves 3 px per frame.
inline Frame synthetic_frame(int width, int height, int t) {
    Frame f;
    f.resize(width, height);
    f.index = t;
    const int sq = std::max(4, height / 4);
    const int sx = (t * 3) % std::max(1, width - sq);
    const int sy = height / 3;
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            uint8_t* p = f.pixel(x, y);
            const bool in_square = x >= sx && x < sx + sq && y >= sy && y < sy + sq;
            p[0] = in_square ? 235 : static_cast<uint8_t>(40 + 160 * x / width);
            p[1] = in_square ? 235 : static_cast<uint8_t>(40 + 160 * y / height);
            p[2] = in_square ? 235 : static_cast<uint8_t>(200 - 120 * (x + y) / (width + height));
        }
    }
    return f;
}

// Decodes the first n frames with the ffmpeg command line tool as a reference; empty when the tool
// is missing.
inline std::vector<Frame> decode_with_ffmpeg_cli(const std::string& path,
                                                 int width,
                                                 int height,
                                                 int n) {
    std::vector<Frame> frames;
    const std::string cmd = "ffmpeg -nostdin -v error -i '" + path + "' -frames:v " +
                            std::to_string(n) + " -f rawvideo -pix_fmt rgb24 - 2>/dev/null";
    std::FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        return frames;
    }
    for (int i = 0; i < n; ++i) {
        Frame f;
        f.resize(width, height);
        if (std::fread(f.rgb.data(), 1, f.rgb.size(), pipe) != f.rgb.size()) {
            break;
        }
        f.index = i;
        frames.push_back(std::move(f));
    }
    ::pclose(pipe);
    return frames;
}

}  // namespace lipar::media::test
