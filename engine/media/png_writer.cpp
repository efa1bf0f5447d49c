#include "media/png_writer.h"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#if LIPAR_HAVE_ZLIB
#include <zlib.h>
#endif

#include "core/error.h"

namespace lipar::media {

namespace {

uint32_t crc32_of(const uint8_t* data, size_t n, uint32_t crc = 0xffffffffu) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    for (size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

void chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
    put_u32(out, static_cast<uint32_t>(data.size()));
    const size_t start = out.size();
    out.insert(out.end(), type, type + 4);
    out.insert(out.end(), data.begin(), data.end());
    put_u32(out, crc32_of(out.data() + start, out.size() - start) ^ 0xffffffffu);
}

// zlib stream of `raw`: real deflate with zlib, else stored blocks with an Adler-32 trailer.
std::vector<uint8_t> zlib_stream(const std::vector<uint8_t>& raw) {
#if LIPAR_HAVE_ZLIB
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::vector<uint8_t> out(size);
    LIPAR_CHECK(compress2(out.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 9) == Z_OK,
                StatusCode::Internal, "PNG: zlib compression failed");
    out.resize(size);
    return out;
#else
    std::vector<uint8_t> out = {0x78, 0x01};
    size_t pos = 0;
    do {
        const size_t n = std::min<size_t>(65535, raw.size() - pos);
        out.push_back(pos + n == raw.size() ? 1 : 0);
        out.push_back(static_cast<uint8_t>(n));
        out.push_back(static_cast<uint8_t>(n >> 8));
        out.push_back(static_cast<uint8_t>(~n));
        out.push_back(static_cast<uint8_t>(~n >> 8));
        out.insert(out.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos),
                   raw.begin() + static_cast<std::ptrdiff_t>(pos + n));
        pos += n;
    } while (pos < raw.size());
    uint32_t a = 1, b = 0;
    for (uint8_t v : raw) {
        a = (a + v) % 65521;
        b = (b + a) % 65521;
    }
    put_u32(out, (b << 16) | a);
    return out;
#endif
}

}  // namespace

void write_png(const Frame& frame, const std::string& path) {
    LIPAR_CHECK(!frame.empty() && frame.rgb.size() >= frame.byte_size(), StatusCode::InvalidArgument,
                "PNG: empty frame");
    std::vector<uint8_t> raw;
    const size_t row = static_cast<size_t>(frame.width) * 3;
    raw.reserve((row + 1) * static_cast<size_t>(frame.height));
    for (int y = 0; y < frame.height; ++y) {
        // Filter "Sub" (each byte minus the same channel of the pixel to its left): photographs
        // compress about a third better than unfiltered.
        raw.push_back(1);
        const uint8_t* p = frame.rgb.data() + row * static_cast<size_t>(y);
        for (size_t i = 0; i < row; ++i) raw.push_back(static_cast<uint8_t>(p[i] - (i >= 3 ? p[i - 3] : 0)));
    }
    std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<uint8_t> ihdr;
    put_u32(ihdr, static_cast<uint32_t>(frame.width));
    put_u32(ihdr, static_cast<uint32_t>(frame.height));
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits, truecolour, deflate, no filter, no interlace
    chunk(png, "IHDR", ihdr);
    chunk(png, "IDAT", zlib_stream(raw));
    chunk(png, "IEND", {});
    const std::string tmp = path + ".partial";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
        LIPAR_CHECK(out.good(), StatusCode::IoError, "cannot write ", tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    LIPAR_CHECK(!ec, StatusCode::IoError, "cannot rename ", tmp, " to ", path, ": ", ec.message());
}

}  // namespace lipar::media
