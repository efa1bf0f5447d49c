// The PNG writer's output, decoded here with zlib: signature, chunk CRCs, header and pixels.
#include <gtest/gtest.h>

#include <zlib.h>

#include <fstream>
#include <iterator>

#include "common/temp_dir.h"
#include "media/png_writer.h"

namespace lipar::media {
namespace {

uint32_t be32(const std::vector<uint8_t>& b, size_t at) {
    return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) | (uint32_t(b[at + 2]) << 8) | b[at + 3];
}

TEST(MediaPng, written_file_decodes_to_the_same_pixels) {
    Frame f;
    f.resize(7, 5);
    for (size_t i = 0; i < f.rgb.size(); ++i) f.rgb[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
    test::TempDir dir;
    const std::string path = dir.file("x.png");
    write_png(f, path);
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(b.size(), 8u);
    const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    ASSERT_TRUE(std::equal(sig, sig + 8, b.begin()));
    std::vector<uint8_t> idat;
    size_t pos = 8;
    std::string last;
    while (pos + 12 <= b.size()) {
        const uint32_t len = be32(b, pos);
        const std::string type(b.begin() + pos + 4, b.begin() + pos + 8);
        const uint32_t crc = static_cast<uint32_t>(::crc32(0, b.data() + pos + 4, len + 4));
        EXPECT_EQ(crc, be32(b, pos + 8 + len)) << type;
        if (type == "IHDR") {
            EXPECT_EQ(be32(b, pos + 8), 7u);
            EXPECT_EQ(be32(b, pos + 12), 5u);
            EXPECT_EQ(b[pos + 16], 8);  // bit depth
            EXPECT_EQ(b[pos + 17], 2);  // truecolour
        }
        if (type == "IDAT") idat.insert(idat.end(), b.begin() + pos + 8, b.begin() + pos + 8 + len);
        last = type;
        pos += 12 + len;
    }
    EXPECT_EQ(last, "IEND");
    std::vector<uint8_t> raw(5 * (1 + 7 * 3));
    uLongf n = raw.size();
    ASSERT_EQ(::uncompress(raw.data(), &n, idat.data(), idat.size()), Z_OK);
    ASSERT_EQ(n, raw.size());
    for (int y = 0; y < 5; ++y) {
        const uint8_t* row = raw.data() + y * 22;
        ASSERT_EQ(row[0], 1);  // Sub filter
        std::vector<uint8_t> px(21);
        for (int i = 0; i < 21; ++i) px[i] = static_cast<uint8_t>(row[1 + i] + (i >= 3 ? px[i - 3] : 0));
        for (int i = 0; i < 21; ++i) EXPECT_EQ(px[i], f.rgb[y * 21 + i]) << y << "," << i;
    }
    EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
}

}  // namespace
}  // namespace lipar::media
