#include <gtest/gtest.h>

#include <limits>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"
#include "io_test_util.h"

namespace lipar::io {

using test::bit_equal;
using test::contains;
using test::TempDir;

namespace {

const std::string kTaef2 = std::string(LIPAR_SHARED_DIR) + "/models/taef2/";
const std::string kData = std::string(LIPAR_TEST_DATA_DIR) + "/";

// Every tensor of the fixture written by tests/data/make_nested_checkpoint.py.
void expect_nested_fixture(const TensorMap& m) {
    ASSERT_EQ(m.size(), 14u);
    auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
    EXPECT_TRUE(bit_equal(m.at("generator.model.blocks.0.weight"),
                          (torch::arange(6, f32) + 0.5).reshape({2, 3})));
    EXPECT_TRUE(bit_equal(m.at("generator.model.blocks.0.bias"),
                          torch::tensor({1.0f, -2.5f, 3.0f}).to(torch::kBFloat16)));
    EXPECT_TRUE(bit_equal(m.at("generator.model.scale"), torch::tensor(0.25f).to(torch::kFloat16)));
    EXPECT_TRUE(bit_equal(m.at("generator_ema.model.blocks.0.weight"),
                          (-1 - torch::arange(6, f32)).reshape({2, 3})));
    EXPECT_TRUE(bit_equal(m.at("generator_ema.model.ids"),
                          torch::tensor({std::numeric_limits<int64_t>::min(), int64_t{-1},
                                         int64_t{0}, std::numeric_limits<int64_t>::max()})));
    EXPECT_TRUE(bit_equal(m.at("generator_ema.model.mask"),
                          torch::tensor({true, false, true, true, false})));
    const auto transposed = m.at("generator_ema.model.transposed");
    EXPECT_TRUE(bit_equal(transposed, torch::arange(12, f32).reshape({3, 4}).t()));
    EXPECT_TRUE(transposed.is_contiguous());
    EXPECT_TRUE(bit_equal(m.at("generator_ema.model.row1"), torch::arange(4, 8, f32)));
    EXPECT_EQ(m.at("generator_ema.model.empty").sizes(), (std::vector<int64_t>{0, 4}));
    EXPECT_TRUE(bit_equal(m.at("generator_ema.model.f64"),
                          torch::tensor({1.0 / 3.0, -1e300}, torch::kFloat64)));
    EXPECT_TRUE(
        bit_equal(m.at("generator_ema.model.i32"), torch::tensor({-7, 2147483647}, torch::kInt32)));
    EXPECT_TRUE(
        bit_equal(m.at("generator_ema.model.i16"), torch::tensor({-32768, 12}, torch::kInt16)));
    EXPECT_TRUE(
        bit_equal(m.at("generator_ema.model.i8"), torch::tensor({-128, 127}, torch::kInt8)));
    EXPECT_TRUE(
        bit_equal(m.at("generator_ema.model.u8"), torch::tensor({0, 200, 255}, torch::kUInt8)));
    EXPECT_FALSE(m.count("step"));
    EXPECT_FALSE(m.count("config.lr"));
}

// Reads `bytes` as a checkpoint; returns true when it threw lipar::Error. Anything else thrown
// (c10::Error, std::exception) fails the test; a crash would end it.
bool throws_lipar_error(const std::string& path, const std::string& bytes) {
    test::write_bytes(path, bytes);
    try {
        load_checkpoint(path);
    } catch (const Error&) {
        return true;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "non-lipar exception: " << e.what();
        return true;
    }
    return false;
}

}  // namespace

TEST(TorchCheckpoint, taef2_pth_matches_its_safetensors_bit_for_bit) {
    for (const char* part : {"taef2_encoder", "taef2_decoder"}) {
        const TensorMap pth = read_torch_checkpoint(kTaef2 + part + ".pth");
        const TensorMap st = read_safetensors(kTaef2 + part + ".safetensors");
        ASSERT_EQ(pth.size(), st.size()) << part;
        ASSERT_GT(pth.size(), 70u);
        for (const auto& [name, t] : st) {
            ASSERT_TRUE(pth.count(name)) << part << ": " << name;
            EXPECT_TRUE(bit_equal(pth.at(name), t)) << part << ": " << name;
        }
        EXPECT_EQ(pth.begin()->second.scalar_type(), torch::kFloat16);
    }
}

TEST(TorchCheckpoint, nested_dicts_flatten_with_dots_and_keep_every_dtype) {
    expect_nested_fixture(read_torch_checkpoint(kData + "nested_checkpoint.pth"));
}

TEST(TorchCheckpoint, zip64_records_and_extra_fields_are_understood) {
    expect_nested_fixture(read_torch_checkpoint(kData + "nested_checkpoint_zip64.pth"));
}

TEST(TorchCheckpoint, compressed_entries_are_refused_with_a_clear_error) {
    try {
        read_torch_checkpoint(kData + "compressed_checkpoint.pth");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::Unsupported);
        EXPECT_TRUE(contains(e.what(), "' is compressed (method 8); only stored entries"))
            << e.what();
    }
}

TEST(TorchCheckpoint, a_bare_tensor_checkpoint_gives_one_named_tensor) {
    const TensorMap m =
        load_checkpoint(std::string(LIPAR_SHARED_DIR) + "/models/test_latents_wan.pth");
    ASSERT_EQ(m.size(), 1u);
    const torch::Tensor t = m.at(kSingleTensorName);
    EXPECT_EQ(t.sizes(), (std::vector<int64_t>{1, 16, 16, 40, 64}));
    EXPECT_EQ(t.scalar_type(), torch::kBFloat16);
    const float sd = t.to(torch::kFloat32).std().item<float>();
    EXPECT_GT(sd, 0.2f);  // real latents, not zeros
    EXPECT_LT(sd, 5.0f);
}

TEST(TorchCheckpoint, load_checkpoint_picks_the_reader_by_content) {
    EXPECT_EQ(detect_checkpoint_format(kTaef2 + "taef2_encoder.pth"), CheckpointFormat::TorchZip);
    EXPECT_EQ(detect_checkpoint_format(kTaef2 + "taef2_encoder.safetensors"),
              CheckpointFormat::Safetensors);
    TempDir dir;
    // The extension does not matter.
    const std::string renamed = dir.file("weights.bin");
    test::write_bytes(renamed, test::read_bytes(kTaef2 + "taef2_encoder.pth"));
    EXPECT_EQ(load_checkpoint(renamed).size(),
              read_safetensors(kTaef2 + "taef2_encoder.safetensors").size());

    try {
        load_checkpoint(dir.file("missing.pth"));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::NotFound);
        EXPECT_TRUE(contains(e.what(), "file not found: " + dir.file("missing.pth"))) << e.what();
    }
    const std::string text = dir.file("notes.txt");
    test::write_bytes(text, "just some text, not weights");
    try {
        load_checkpoint(text);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::FormatError);
        EXPECT_TRUE(contains(e.what(), text + ": unknown checkpoint format")) << e.what();
    }
    const std::string legacy = dir.file("legacy.pt");
    test::write_bytes(legacy, std::string("\x80\x02\x8a\x0a"
                                          "legacy pickle bytes"));
    try {
        load_checkpoint(legacy);
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "legacy (pre-1.6) torch.save")) << e.what();
    }
}

TEST(TorchCheckpoint, truncated_files_give_an_error_not_a_crash) {
    const std::string bytes = test::read_bytes(kTaef2 + "taef2_encoder.pth");
    TempDir dir;
    const std::string path = dir.file("cut.pth");
    for (size_t keep : {size_t{0}, size_t{3}, size_t{4}, size_t{100}, size_t{11000},
                        bytes.size() / 2, bytes.size() - 23, bytes.size() - 1}) {
        EXPECT_TRUE(throws_lipar_error(path, bytes.substr(0, keep))) << "kept " << keep;
    }
}

TEST(TorchCheckpoint, corrupted_bytes_give_an_error_or_a_result_never_a_crash) {
    const std::string original = test::read_bytes(kData + "nested_checkpoint.pth");
    TempDir dir;
    const std::string path = dir.file("bad.pth");
    // Every 5th byte of data.pkl (it starts right after the first local header) and of the
    // central directory, flipped one at a time.
    size_t errors = 0;
    std::vector<size_t> positions;
    for (size_t i = 30; i < 1400 && i < original.size(); i += 5)
        positions.push_back(i);
    for (size_t i = original.size() > 1400 ? original.size() - 1400 : 0; i < original.size();
         i += 5) {
        positions.push_back(i);
    }
    for (size_t pos : positions) {
        std::string bytes = original;
        bytes[pos] = static_cast<char>(bytes[pos] ^ 0x5A);
        if (throws_lipar_error(path, bytes))
            ++errors;
    }
    EXPECT_GT(errors, positions.size() / 4);  // most damage is detected
    // A damaged central directory signature is reported as such.
    std::string bytes = original;
    const size_t cd = bytes.rfind(std::string("PK\x01\x02", 4));
    bytes[cd + 1] = 'X';
    test::write_bytes(path, bytes);
    try {
        read_torch_checkpoint(path);
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::FormatError);
        EXPECT_TRUE(contains(e.what(), "central directory entry")) << e.what();
    }
}

}  // namespace lipar::io
