#include <gtest/gtest.h>

#include <fstream>
#include <limits>

#include "core/device.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "io_test_util.h"

namespace lipar::io {

using test::bit_equal;
using test::contains;
using test::TempDir;

namespace {

std::string le64(uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i)
        s[i] = static_cast<char>(v >> (8 * i));
    return s;
}

std::string make_file(const std::string& header, const std::string& data) {
    return le64(header.size()) + header + data;
}

// Reads `bytes` as a safetensors file and returns the error; fails the test when none is thrown
// or when the message does not name the file.
Error read_error(const TempDir& dir, const std::string& bytes) {
    const std::string path = dir.file("bad.safetensors");
    test::write_bytes(path, bytes);
    try {
        read_safetensors(path);
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), path)) << e.what();
        return e;
    }
    ADD_FAILURE() << "no error for " << bytes;
    return Error(StatusCode::Ok, "");
}

void expect_format_error(const TempDir& dir,
                         const std::string& bytes,
                         const std::string& expected) {
    const Error e = read_error(dir, bytes);
    EXPECT_EQ(e.code(), StatusCode::FormatError) << e.what();
    EXPECT_TRUE(contains(e.what(), expected))
        << "message: " << e.what() << "\nexpected: " << expected;
}

TensorMap every_dtype() {
    torch::manual_seed(3);
    TensorMap m;
    m["f64"] = torch::randn({3, 4}, torch::kFloat64);
    const float inf = std::numeric_limits<float>::infinity();
    m["f32.special"] = torch::tensor({0.0f, -0.0f, inf, -inf, std::nanf(""), 1e-45f, 3.4e38f});
    m["f16"] = torch::randn({2, 3, 5}).to(torch::kFloat16);
    m["bf16"] = torch::randn({7}).to(torch::kBFloat16);
    m["i64"] = torch::tensor(
        {std::numeric_limits<int64_t>::min(), int64_t{0}, std::numeric_limits<int64_t>::max()});
    m["i32"] = torch::tensor({-7, 1 << 30}, torch::kInt32);
    m["i16"] = torch::tensor({-32768, 32767}, torch::kInt16);
    m["i8"] = torch::tensor({-128, 127}, torch::kInt8);
    m["u8"] = torch::arange(256, torch::kInt32).to(torch::kUInt8).reshape({16, 16});
    m["bool"] = torch::tensor({true, false, true});
    m["scalar"] = torch::tensor(2.5f);                                         // 0-d
    m["empty"] = torch::zeros({0, 3}, torch::kBFloat16);                       // zero-size
    m["transposed"] = torch::arange(12, torch::kFloat32).reshape({3, 4}).t();  // non-contiguous
    return m;
}

}  // namespace

TEST(Safetensors, round_trip_is_bit_exact_for_every_dtype_and_shape) {
    TempDir dir;
    const std::string path = dir.file("all.safetensors");
    const TensorMap in = every_dtype();
    write_safetensors(path, in, {{"format", "pt"}, {"note", "caf\xc3\xa9"}});
    const TensorMap out = read_safetensors(path);
    ASSERT_EQ(out.size(), in.size());
    for (const auto& [name, t] : in) {
        ASSERT_TRUE(out.count(name)) << name;
        EXPECT_TRUE(bit_equal(out.at(name), t)) << name;
        EXPECT_TRUE(out.at(name).device().is_cpu());
    }
    EXPECT_EQ(out.at("scalar").dim(), 0);
    EXPECT_EQ(out.at("empty").sizes(), (std::vector<int64_t>{0, 3}));
    EXPECT_TRUE(out.at("transposed").is_contiguous());
    EXPECT_EQ(out.at("transposed")[0][1].item<float>(), 4.0f);

    const SafetensorsHeader h = read_safetensors_header(path);
    EXPECT_EQ(h.metadata.at("format"), "pt");
    EXPECT_EQ(h.metadata.at("note"), "caf\xc3\xa9");
    ASSERT_EQ(h.tensors.size(), in.size());
    EXPECT_EQ(h.tensors.front().name, "bf16");  // sorted by name
    for (size_t i = 1; i < h.tensors.size(); ++i) {
        EXPECT_LT(h.tensors[i - 1].name, h.tensors[i].name);
        EXPECT_EQ(h.tensors[i - 1].end, h.tensors[i].begin);  // packed, in name order
    }
}

TEST(Safetensors, header_is_space_padded_to_eight_bytes) {
    TempDir dir;
    const std::string path = dir.file("pad.safetensors");
    write_safetensors(path, {{"a", torch::ones({3}, torch::kUInt8)}});
    const std::string bytes = test::read_bytes(path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | static_cast<unsigned char>(bytes[i]);
    EXPECT_EQ(n % 8, 0u);
    EXPECT_EQ(bytes.size(), 8 + n + 3);
    const std::string header = bytes.substr(8, n);
    EXPECT_EQ(header.rfind('}'), header.find_last_not_of(' '));
    EXPECT_EQ(read_safetensors_header(path).data_start, 8 + n);
}

TEST(Safetensors, reader_can_select_tensors_by_name) {
    TempDir dir;
    const std::string path = dir.file("sel.safetensors");
    write_safetensors(path, every_dtype());
    const TensorMap some =
        read_safetensors(path, [](const std::string& n) { return n.rfind("f", 0) == 0; });
    EXPECT_EQ(some.size(), 3u);  // f64, f32.special, f16
    EXPECT_TRUE(some.count("f32.special"));
    EXPECT_FALSE(some.count("bf16"));
}

TEST(Safetensors, each_malformed_header_gets_its_own_error) {
    TempDir dir;
    const std::string f4 = std::string(4, '\0');
    expect_format_error(dir, "abc", "fewer than the 8-byte header length");
    expect_format_error(dir, le64(200ull << 20) + "{}", "exceeds the 104857600-byte limit");
    expect_format_error(dir, le64(100) + "{}", "header length 100 exceeds the file size 10");
    expect_format_error(dir, make_file("{not json}", ""),
                        "is not valid JSON (JSON parse error at byte 1");
    expect_format_error(dir, make_file("[1, 2]", ""), "header is a JSON array, expected an object");
    expect_format_error(dir, make_file(R"({"a": 5})", ""),
                        "tensor 'a': header entry is a JSON number");
    expect_format_error(dir, make_file(R"({"a": {"shape": [1], "data_offsets": [0, 4]}})", f4),
                        "tensor 'a': header entry has no \"dtype\"");
    expect_format_error(dir, make_file(R"({"a": {"dtype": "F32", "data_offsets": [0, 4]}})", f4),
                        "tensor 'a': header entry has no \"shape\"");
    expect_format_error(dir, make_file(R"({"a": {"dtype": "F32", "shape": [1]}})", f4),
                        "tensor 'a': header entry has no \"data_offsets\"");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": 32, "shape": [1], "data_offsets": [0, 4]}})", f4),
        "tensor 'a': \"dtype\" must be a string, got number");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": "F7", "shape": [1], "data_offsets": [0, 4]}})", f4),
        "tensor 'a': unknown dtype 'F7'");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}})", f4),
        "tensor 'a': \"shape\" must be an array of integers, got string");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", f4),
        "tensor 'a': \"shape\" must be an array of integers, got [1.5]");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": "F32", "shape": [2, -1], "data_offsets": [0, 4]}})", f4),
        "tensor 'a': shape [2,-1] has a negative dimension");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", f4),
        "tensor 'a': \"data_offsets\" must be two increasing non-negative integers [begin, end], "
        "got [4,0]");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}})", f4),
        "got [0,4,8]");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": 4}})", f4),
        "tensor 'a': \"data_offsets\" must be two increasing");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": "F32", "shape": [100], "data_offsets": [0, 400]}})", f4),
        "tensor 'a': data_offsets [0, 400] run past the end of the data section (4 bytes");
    expect_format_error(
        dir, make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", f4),
        "tensor 'a': dtype F32 and shape [2] need 8 bytes but data_offsets [0, 4] hold 4");
    expect_format_error(
        dir,
        make_file(
            R"({"a": {"dtype": "I64", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})",
            f4),
        "need more than 2^64 bytes");
    expect_format_error(
        dir,
        make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                  R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                  std::string(12, '\0')),
        "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
    expect_format_error(dir, make_file(R"({"__metadata__": {"k": 1}})", ""),
                        "__metadata__ must map strings to strings, but \"k\" holds a number");
    expect_format_error(dir, make_file(R"({"__metadata__": [1]})", ""),
                        "__metadata__ must be an object mapping strings to strings, got array");
    expect_format_error(
        dir,
        make_file(R"({"a": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}})",
                  std::string("\x01\x07", 2)),
        "tensor 'a': BOOL data holds bytes other than 0 and 1");
}

TEST(Safetensors, dtypes_libtorch_lacks_are_reported_as_unsupported) {
    TempDir dir;
    const Error e = read_error(
        dir, make_file(R"({"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}})",
                       std::string(4, '\0')));
    EXPECT_EQ(e.code(), StatusCode::Unsupported);
    EXPECT_TRUE(contains(e.what(), "tensor 'w': dtype F8_E4M3 is not supported")) << e.what();
}

TEST(Safetensors, missing_file_is_not_found) {
    try {
        read_safetensors("/nonexistent/dir/x.safetensors");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::NotFound);
        EXPECT_TRUE(contains(e.what(), "/nonexistent/dir/x.safetensors"));
    }
}

TEST(Safetensors, failed_write_leaves_no_partial_file_and_keeps_the_old_one) {
    TempDir dir;
    const std::string path = dir.file("out.safetensors");
    write_safetensors(path, {{"old", torch::ones({2})}});
    const std::string before = test::read_bytes(path);
    TensorMap bad = {{"a", torch::ones({2})}, {"z", torch::ones({2}, torch::kComplexFloat)}};
    try {
        write_safetensors(path, bad);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::Unsupported);
        EXPECT_TRUE(contains(e.what(), "tensor 'z'")) << e.what();
    }
    EXPECT_THROW(write_safetensors(path, {{"__metadata__", torch::ones({1})}}), Error);
    EXPECT_THROW(write_safetensors(path, {{"u", torch::Tensor()}}), Error);
    EXPECT_EQ(test::read_bytes(path), before);
    size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        (void)entry;
        ++files;
    }
    EXPECT_EQ(files, 1u);  // no temporary left behind
    EXPECT_THROW(write_safetensors(dir.file("no/such/dir/x.safetensors"), {}), Error);
}

TEST(Safetensors, reads_the_real_taef2_encoder) {
    const std::string dir = std::string(LIPAR_SHARED_DIR) + "/models/taef2/";
    const TensorMap m = read_safetensors(dir + "taef2_encoder.safetensors");
    // taef2_encoder_keys.txt: "name<TAB>[shape]<TAB>torch.float16" per tensor.
    std::ifstream keys(dir + "taef2_encoder_keys.txt");
    std::string line;
    size_t lines = 0;
    while (std::getline(keys, line)) {
        if (line.empty())
            continue;
        ++lines;
        const auto tab = line.find('\t');
        const auto tab2 = line.find('\t', tab + 1);
        const std::string name = line.substr(0, tab);
        ASSERT_TRUE(m.count(name)) << name;
        EXPECT_EQ(shape_string(m.at(name).sizes()), line.substr(tab + 1, tab2 - tab - 1)) << name;
        EXPECT_EQ(m.at(name).scalar_type(), torch::kFloat16) << name;
    }
    EXPECT_EQ(m.size(), lines);
    EXPECT_GT(lines, 70u);
    EXPECT_EQ(m.at("0.weight").sizes(), (std::vector<int64_t>{64, 3, 3, 3}));
    EXPECT_EQ(m.at("0.weight").scalar_type(), torch::kFloat16);
    EXPECT_GT(m.at("0.weight").abs().sum().item<float>(), 1.0f);
}

}  // namespace lipar::io
