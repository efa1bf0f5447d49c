// The Nano autoencoder layout (TaehvConfig::nano): pixel folding, its own stage layout, no
// withheld frames, and a safetensors file that carries its layout.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include "common/temp_dir.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/vae/autoencoder.h"
#include "model/vae/taehv.h"

namespace lipar::model {
namespace {

std::shared_ptr<Taehv> random_nano(uint64_t seed) {
    return Taehv::random(seed, torch::TensorOptions(), TaehvConfig::nano());
}

torch::Tensor frames(int64_t t, int64_t h, int64_t w, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::rand({1, t, 3, h, w}, gen);
}

TEST(VaeNano, layout_json_round_trips_and_the_default_stays_taew2_1) {
    const auto nano = TaehvConfig::nano();
    const auto back = TaehvConfig::from_json(nano.to_json());
    EXPECT_EQ(back.to_json(), nano.to_json());
    EXPECT_EQ(nano.temporal_ratio(), 4);
    EXPECT_EQ(nano.spatial_ratio(), 8);
    EXPECT_EQ(nano.trim(), 0);
    EXPECT_FALSE(nano.is_default_layout());
    EXPECT_TRUE(TaehvConfig{}.is_default_layout());
    EXPECT_EQ(TaehvConfig{}.trim(), 3);
    EXPECT_THROW(TaehvConfig::from_json("{\"patch\": 2}"), Error);
    auto bad = nano;
    bad.decoder[0].time = 1;  // the decoder would grow time by 2 only
    EXPECT_THROW(bad.validate(), Error);
}

TEST(VaeNano, shapes_follow_4x_time_8x_space_and_no_frame_is_withheld) {
    auto m = random_nano(1);
    auto z = m->encode(frames(8, 32, 48, 2));
    EXPECT_EQ(z.sizes(), c10::IntArrayRef({1, 2, 16, 4, 6}));
    auto y = m->decode(z);
    EXPECT_EQ(y.sizes(), c10::IntArrayRef({1, 8, 3, 32, 48}));
    EXPECT_GE(y.min().item<float>(), 0.0f);
    EXPECT_LE(y.max().item<float>(), 1.0f);
    EXPECT_THROW(m->encode(frames(4, 36, 48, 3)), Error);  // 36 is no multiple of 8
}

TEST(VaeNano, streaming_in_pieces_equals_one_batch) {
    auto m = random_nano(3);
    auto x = frames(12, 32, 32, 4);
    auto whole = m->encode(x);
    TaehvEncoderState enc;
    std::vector<torch::Tensor> parts;
    for (int64_t pos = 0; pos < 12; pos += 5) {
        auto z = m->encode_step(enc, x.narrow(1, pos, std::min<int64_t>(5, 12 - pos)));
        if (z.size(1) > 0) parts.push_back(z);
    }
    EXPECT_TRUE(torch::allclose(torch::cat(parts, 1), whole, 1e-5, 1e-5));
    TaehvDecoderState dec;
    auto a = m->decode_step(dec, whole.narrow(1, 0, 1));
    auto b = m->decode_step(dec, whole.narrow(1, 1, 2));
    EXPECT_TRUE(torch::allclose(torch::cat({a, b}, 1), m->decode(whole), 1e-5, 1e-5));
}

TEST(VaeNano, saved_file_describes_its_layout_and_loads_through_the_pack_loader) {
    test::TempDir dir;
    auto m = random_nano(5);
    const std::string path = dir.file("nano.safetensors");
    m->save(path, torch::kFloat16);
    const auto header = io::read_safetensors_header(path);
    ASSERT_EQ(header.metadata.count("lipar.taehv"), 1u);
    auto ae = load_autoencoder("taehv", path, path, torch::TensorOptions());
    EXPECT_EQ(ae->temporal_ratio(), 4);
    EXPECT_EQ(ae->spatial_ratio(), 8);
    EXPECT_EQ(ae->decoder_frames_to_trim(), 0);
    auto x = frames(4, 32, 32, 6);
    auto z_ref = m->encode(x).squeeze(0);
    auto z = ae->encode_frames(x.squeeze(0));
    // Weights went through fp16.
    EXPECT_LT((z - z_ref).abs().max().item<double>(), 2e-2);
}

TEST(VaeNano, training_mode_records_gradients_and_eval_mode_does_not) {
    auto m = random_nano(7);
    auto x = frames(4, 16, 16, 8);
    m->train();
    auto y = m->decode(m->encode(x));
    EXPECT_TRUE(y.requires_grad());
    y.mean().backward();
    EXPECT_TRUE(m->encoder().layers().front().conv->weight.grad().defined());
    m->eval();
    EXPECT_FALSE(m->decode(m->encode(x)).requires_grad());
}

}  // namespace
}  // namespace lipar::model
