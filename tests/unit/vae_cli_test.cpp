// `lipar tensor taesd-*/taehv-*` against the same models run in-process.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/device.h"
#include "io/safetensors.h"
#include "model/vae/taehv.h"
#include "model/vae/taesd.h"
#include "vae_test_util.h"

namespace lipar::model {
namespace {

const torch::TensorOptions kCpuF32 = torch::TensorOptions().dtype(torch::kFloat32);

class VaeCli : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/lipar_vae_cli_XXXXXX";
        const char* made = ::mkdtemp(pattern);
        ASSERT_NE(made, nullptr);
        m_dir = made;
    }
    void TearDown() override {
        for (const auto& f : m_files)
            std::remove(f.c_str());
        ::rmdir(m_dir.c_str());
    }
    std::string file(const std::string& name) {
        m_files.push_back(m_dir + "/" + name);
        return m_files.back();
    }
    // Runs `lipar tensor ARGS`; returns the exit code and keeps stderr in m_stderr.
    int run_cli(const std::string& args) {
        const std::string err = file("stderr.txt");
        const std::string cmd = std::string(LIPAR_CLI_PATH) + " tensor " + args + " 2> " + err;
        const int status = std::system(cmd.c_str());
        std::ifstream in(err);
        std::stringstream text;
        text << in.rdbuf();
        m_stderr = text.str();
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    std::string m_dir;
    std::vector<std::string> m_files;
    std::string m_stderr;
};

TEST_F(VaeCli, taehv_encode_and_streamed_decode_match_the_library) {
    auto model = Taehv::random(77, kCpuF32);
    const std::string weights = file("taehv.safetensors");
    io::write_safetensors(weights, parameters_to_map(*model));
    const auto x = torch::rand({1, 5, 3, 16, 24});
    const std::string in = file("x.safetensors"), z_out = file("z.safetensors");
    io::write_safetensors(in, {{"x", x}});
    ASSERT_EQ(run_cli("taehv-encode --weights " + weights + " --in " + in + " --out " + z_out), 0)
        << m_stderr;
    const auto z = io::read_safetensors(z_out).at("z");
    EXPECT_EQ(z.sizes(), c10::IntArrayRef({1, 2, 16, 2, 3}));
    EXPECT_LT(relative_error(z, model->encode(x)), 1e-6);

    const std::string y_out = file("y.safetensors");
    ASSERT_EQ(run_cli("taehv-decode --chunk 1 --weights " + weights + " --in " + z_out + " --out " +
                      y_out),
              0)
        << m_stderr;
    const auto y = io::read_safetensors(y_out).at("x");
    EXPECT_EQ(y.sizes(), c10::IntArrayRef({1, 5, 3, 16, 24}));
    EXPECT_LT(relative_error(y, model->decode(z)), 1e-5);
}

TEST_F(VaeCli, taesd_encode_with_taef2_and_a_wrong_input_shape_gives_one_line) {
    const std::string in = file("x.safetensors"), out = file("z.safetensors");
    const auto x = torch::rand({1, 3, 16, 16});
    io::write_safetensors(in, {{"x", x}});
    ASSERT_EQ(run_cli("taesd-encode --weights " + test::taef2_path("encoder") + " --in " + in +
                      " --out " + out),
              0)
        << m_stderr;
    const auto z = io::read_safetensors(out).at("z");
    auto model = TinyImageAutoencoder::load(test::taef2_path("encoder"), "", kCpuF32);
    EXPECT_EQ(z.sizes(), c10::IntArrayRef({1, 32, 2, 2}));
    EXPECT_LT(relative_error(z, model->encode(x)), 1e-6);

    io::write_safetensors(in, {{"x", torch::rand({1, 4, 16, 16})}});
    EXPECT_EQ(run_cli("taesd-encode --weights " + test::taef2_path("encoder") + " --in " + in +
                      " --out " + out),
              1);
    EXPECT_EQ(m_stderr.rfind("lipar tensor: taesd-encode: input 'x' must be [N, 3, H, W]", 0), 0u)
        << m_stderr;
    EXPECT_NE(m_stderr.find("[1, 4, 16, 16]"), std::string::npos) << m_stderr;
    EXPECT_EQ(std::count(m_stderr.begin(), m_stderr.end(), '\n'), 1) << m_stderr;

    // Decoding needs the decoder: an encoder file is refused by name.
    io::write_safetensors(in, {{"z", z}});
    EXPECT_EQ(run_cli("taesd-decode --weights2 " + test::taef2_path("encoder") + " --in " + in +
                      " --out " + out),
              1);
    EXPECT_NE(m_stderr.find("was given as the decoder"), std::string::npos) << m_stderr;
}

}  // namespace
}  // namespace lipar::model
