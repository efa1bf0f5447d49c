#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "io/safetensors.h"
#include "io_test_util.h"

namespace lipar::io {

using test::bit_equal;
using test::contains;
using test::TempDir;

namespace {

struct RunResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

RunResult run_cli(const std::vector<std::string>& args) {
    std::string cmd = quote(LIPAR_CLI_PATH);
    for (const auto& a : args)
        cmd += " " + quote(a);
    cmd += " 2>&1";
    RunResult r;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (!pipe)
        return r;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0)
        r.output.append(buf, n);
    const int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

const std::string kTaef2 = std::string(LIPAR_SHARED_DIR) + "/models/taef2/";

}  // namespace

TEST(CliConvert, converts_a_torch_checkpoint_to_identical_safetensors) {
    TempDir dir;
    const std::string out = dir.file("enc.safetensors");
    const RunResult r = run_cli({"convert", kTaef2 + "taef2_encoder.pth", out});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const TensorMap expected = read_safetensors(kTaef2 + "taef2_encoder.safetensors");
    EXPECT_TRUE(contains(r.output, "wrote " + std::to_string(expected.size()) + " tensors"))
        << r.output;
    EXPECT_TRUE(contains(r.output, std::to_string(std::filesystem::file_size(out)) + " bytes"))
        << r.output;
    const TensorMap got = read_safetensors(out);
    ASSERT_EQ(got.size(), expected.size());
    for (const auto& [name, t] : expected) {
        ASSERT_TRUE(got.count(name)) << name;
        EXPECT_TRUE(bit_equal(got.at(name), t)) << name;
    }
    EXPECT_EQ(read_safetensors_header(out).metadata.at("format"), "pt");
}

TEST(CliConvert, dtype_option_converts_only_floating_point_tensors) {
    TempDir dir;
    const std::string out = dir.file("f32.safetensors");
    const RunResult r =
        run_cli({"convert", std::string(LIPAR_TEST_DATA_DIR) + "/nested_checkpoint.pth", out,
                 "--dtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "converted 3 to f32")) << r.output;  // bf16, f16, f64
    const TensorMap got = read_safetensors(out);
    EXPECT_EQ(got.at("generator.model.blocks.0.bias").scalar_type(), torch::kFloat32);
    EXPECT_FLOAT_EQ(got.at("generator.model.blocks.0.bias")[1].item<float>(), -2.5f);
    EXPECT_EQ(got.at("generator_ema.model.ids").scalar_type(), torch::kInt64);
    EXPECT_EQ(got.at("generator_ema.model.mask").scalar_type(), torch::kBool);
}

TEST(CliConvert, select_keeps_one_nested_part_without_its_prefix) {
    TempDir dir;
    const std::string out = dir.file("ema.safetensors");
    const std::string in = std::string(LIPAR_TEST_DATA_DIR) + "/nested_checkpoint.pth";
    const RunResult r = run_cli({"convert", in, out, "--select", "generator_ema"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const TensorMap got = read_safetensors(out);
    EXPECT_EQ(got.size(), 11u);
    ASSERT_TRUE(got.count("model.blocks.0.weight"));
    EXPECT_FLOAT_EQ(got.at("model.blocks.0.weight")[0][0].item<float>(), -1.0f);
    EXPECT_FALSE(got.count("generator.model.scale"));

    const RunResult bad = run_cli({"convert", in, dir.file("x.safetensors"), "--select", "gen"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_TRUE(contains(bad.output, "names start with 'generator', 'generator_ema'"))
        << bad.output;
}

TEST(CliConvert, missing_input_fails_with_a_one_line_message) {
    TempDir dir;
    const std::string missing = dir.file("nope.pth");
    const RunResult r = run_cli({"convert", missing, dir.file("out.safetensors")});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "file not found: " + missing)) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("out.safetensors")));

    const RunResult usage = run_cli({"convert", missing});
    EXPECT_NE(usage.exit_code, 0);
    EXPECT_TRUE(contains(usage.output, "missing OUT")) << usage.output;
}

}  // namespace lipar::io
