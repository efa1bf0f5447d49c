#include <gtest/gtest.h>

#include <unistd.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>

#include "core/device.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "model/vae/autoencoder.h"
#include "model/vae/taehv.h"

namespace lipar::model {
namespace {

const torch::TensorOptions kCpuF32 = torch::TensorOptions().dtype(torch::kFloat32);
constexpr double kStreamTolerance = 1e-5;

torch::Tensor random_frames(int64_t n, int64_t t, int64_t h, int64_t w, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::rand({n, t, 3, h, w}, gen, kCpuF32);
}

torch::Tensor random_latents(int64_t n, int64_t k, int64_t h, int64_t w, uint64_t seed) {
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randn({n, k, 16, h, w}, gen, kCpuF32);
}

// Feeds x (along dim 1) in pieces of the given sizes, cycling, and concatenates what comes out.
template <typename Step>
torch::Tensor feed_in_pieces(const torch::Tensor& x, std::vector<int64_t> pieces, Step step) {
    std::vector<torch::Tensor> outs;
    int64_t pos = 0;
    for (size_t i = 0; pos < x.size(1); ++i) {
        const int64_t len = std::min(pieces[i % pieces.size()], x.size(1) - pos);
        outs.push_back(step(x.narrow(1, pos, len)));
        pos += len;
    }
    return torch::cat(outs, 1);
}

class VaeTaehv : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        use_all_cpu_threads();
        s_model = Taehv::random(1234, kCpuF32);
    }
    static void TearDownTestSuite() { s_model.reset(); }
    static std::shared_ptr<Taehv> s_model;
};
std::shared_ptr<Taehv> VaeTaehv::s_model;

TEST_F(VaeTaehv, batch_shapes_follow_the_4x_temporal_ratio) {
    auto& m = *s_model;
    EXPECT_EQ(m.encode(random_frames(1, 8, 32, 48, 1)).sizes(), c10::IntArrayRef({1, 2, 16, 4, 6}));
    // 5 frames are padded to 8 with copies of the last one.
    EXPECT_EQ(m.encode(random_frames(1, 5, 32, 48, 1)).sizes(), c10::IntArrayRef({1, 2, 16, 4, 6}));
    EXPECT_EQ(m.decode(random_latents(1, 3, 4, 6, 2)).sizes(), c10::IntArrayRef({1, 9, 3, 32, 48}));
    EXPECT_EQ(m.decode(random_latents(2, 1, 4, 6, 2)).sizes(), c10::IntArrayRef({2, 1, 3, 32, 48}));
}

TEST_F(VaeTaehv, random_decoder_output_is_mostly_inside_the_unit_range) {
    // Otherwise the streaming comparisons below would compare clamped constants.
    const auto y = s_model->decode(random_latents(1, 2, 4, 6, 3));
    const double inside = ((y > 0.0) & (y < 1.0)).to(torch::kFloat64).mean().item<double>();
    EXPECT_GT(inside, 0.95);
    EXPECT_GT(y.std().item<double>(), 0.02);
}

TEST_F(VaeTaehv, encode_padding_repeats_the_last_frame) {
    const auto x = random_frames(1, 6, 32, 48, 4);
    const auto padded = torch::cat({x, x.narrow(1, 5, 1), x.narrow(1, 5, 1)}, 1);
    EXPECT_LT(relative_error(s_model->encode(x), s_model->encode(padded)), 1e-6);
}

TEST_F(VaeTaehv, streaming_encode_equals_batch_one_frame_and_four_frames_at_a_time) {
    const auto x = random_frames(1, 12, 32, 48, 5);
    const auto batch = s_model->encode(x);
    ASSERT_EQ(batch.size(1), 3);
    for (const std::vector<int64_t>& pieces :
         {std::vector<int64_t>{1}, std::vector<int64_t>{4}, std::vector<int64_t>{3, 2, 0, 6}}) {
        TaehvEncoderState state;
        const auto streamed = feed_in_pieces(
            x, pieces, [&](const torch::Tensor& p) { return s_model->encode_step(state, p); });
        ASSERT_EQ(streamed.sizes(), batch.sizes()) << "pieces of " << pieces[0];
        EXPECT_LT(relative_error(streamed, batch), kStreamTolerance) << "pieces of " << pieces[0];
        EXPECT_EQ(state.frames_in(), 12);
        EXPECT_EQ(state.latents_out(), 3);
    }
}

TEST_F(VaeTaehv, streaming_encode_returns_each_latent_when_its_fourth_frame_arrives) {
    const auto x = random_frames(1, 8, 32, 48, 6);
    TaehvEncoderState state;
    std::vector<int64_t> counts;
    for (int64_t t = 0; t < 8; ++t)
        counts.push_back(s_model->encode_step(state, x.narrow(1, t, 1)).size(1));
    EXPECT_EQ(counts, (std::vector<int64_t>{0, 0, 0, 1, 0, 0, 0, 1}));
}

TEST_F(VaeTaehv, encode_flush_pads_a_partial_group_like_batch_encode) {
    const auto x = random_frames(1, 10, 32, 48, 7);
    const auto batch = s_model->encode(x);
    ASSERT_EQ(batch.size(1), 3);
    TaehvEncoderState state;
    auto head = feed_in_pieces(
        x, {1}, [&](const torch::Tensor& p) { return s_model->encode_step(state, p); });
    EXPECT_EQ(head.size(1), 2);
    auto tail = s_model->encode_flush(state);
    EXPECT_EQ(tail.size(1), 1);
    EXPECT_LT(relative_error(torch::cat({head, tail}, 1), batch), kStreamTolerance);
    EXPECT_EQ(state.frames_in(), 0);  // flushed streams start over
}

TEST_F(VaeTaehv, streaming_decode_equals_batch_one_latent_and_several_at_a_time) {
    const auto z = random_latents(2, 4, 4, 6, 8);
    const auto batch = s_model->decode(z);
    ASSERT_EQ(batch.sizes(), c10::IntArrayRef({2, 13, 3, 32, 48}));
    for (const std::vector<int64_t>& pieces :
         {std::vector<int64_t>{1}, std::vector<int64_t>{3}, std::vector<int64_t>{2, 0, 1}}) {
        TaehvDecoderState state;
        std::vector<int64_t> counts;
        const auto streamed = feed_in_pieces(z, pieces, [&](const torch::Tensor& p) {
            auto y = s_model->decode_step(state, p);
            counts.push_back(y.size(1));
            return y;
        });
        ASSERT_EQ(streamed.sizes(), batch.sizes());
        EXPECT_LT(relative_error(streamed, batch), kStreamTolerance);
        if (pieces[0] == 1)
            EXPECT_EQ(counts, (std::vector<int64_t>{1, 4, 4, 4}));
        EXPECT_EQ(state.frames_out(), 13);
    }
}

TEST_F(VaeTaehv, encoder_is_causal) {
    const auto x = random_frames(1, 8, 32, 48, 9);
    const auto all = s_model->encode(x);
    const auto first = s_model->encode(x.narrow(1, 0, 4));
    EXPECT_LT(relative_error(first, all.narrow(1, 0, 1)), kStreamTolerance);
}

TEST_F(VaeTaehv, a_stream_that_changes_frame_size_is_refused) {
    TaehvEncoderState state;
    s_model->encode_step(state, random_frames(1, 2, 32, 48, 1));
    EXPECT_THROW(s_model->encode_step(state, random_frames(1, 2, 32, 40, 1)), Error);
    state.reset();
    EXPECT_NO_THROW(s_model->encode_step(state, random_frames(1, 2, 32, 40, 1)));
    EXPECT_THROW(s_model->encode_step(state, torch::zeros({1, 2, 4, 32, 40})), Error);
    EXPECT_THROW(s_model->decode(torch::zeros({1, 2, 4, 4, 6})), Error);
}

TEST_F(VaeTaehv, saved_weights_load_back_with_the_same_names_and_results) {
    char dir_pattern[] = "/tmp/lipar_vae_test_XXXXXX";
    ASSERT_NE(::mkdtemp(dir_pattern), nullptr);
    const std::string path = std::string(dir_pattern) + "/taehv_random.safetensors";
    auto weights = parameters_to_map(*s_model, torch::kFloat32);
    EXPECT_EQ(weights.count("encoder.0.weight"), 1u);
    EXPECT_EQ(weights.count("encoder.4.conv.0.weight"), 1u);
    EXPECT_EQ(weights.count("encoder.2.conv.weight"), 1u);
    EXPECT_EQ(weights.count("decoder.22.bias"), 1u);
    EXPECT_EQ(weights.at("encoder.4.conv.0.weight").sizes(), c10::IntArrayRef({64, 128, 3, 3}));
    EXPECT_EQ(weights.at("encoder.2.conv.weight").sizes(), c10::IntArrayRef({64, 128, 1, 1}));
    EXPECT_EQ(weights.at("decoder.7.conv.weight").sizes(), c10::IntArrayRef({256, 256, 1, 1}));
    EXPECT_EQ(weights.at("decoder.13.conv.weight").sizes(), c10::IntArrayRef({256, 128, 1, 1}));
    // Published files carry a 2x TGrow at decoder.7 whose last half is the 1x layer.
    auto& grow = weights.at("decoder.7.conv.weight");
    grow = torch::cat({torch::randn_like(grow), grow});
    io::write_safetensors(path, weights);

    auto loaded = Taehv::load(path, kCpuF32);
    std::remove(path.c_str());
    ::rmdir(dir_pattern);
    const auto z = random_latents(1, 2, 4, 6, 10);
    EXPECT_TRUE(torch::equal(loaded->decode(z), s_model->decode(z)));
    const auto x = random_frames(1, 4, 32, 48, 11);
    EXPECT_TRUE(torch::equal(loaded->encode(x), s_model->encode(x)));
}

TEST_F(VaeTaehv, weights_with_a_wrong_shape_give_an_error_naming_the_tensor) {
    auto weights = parameters_to_map(*s_model, torch::kFloat32);
    weights["decoder.9.conv.2.weight"] = torch::zeros({128, 64, 3, 3});
    Taehv fresh(TaehvConfig{}, kCpuF32);
    try {
        fresh.load_weights(weights, "random.safetensors");
        FAIL() << "no error";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("decoder.9.conv.2.weight"), std::string::npos) << msg;
        EXPECT_NE(msg.find("[128, 64, 3, 3]"), std::string::npos) << msg;
        EXPECT_NE(msg.find("[128, 128, 3, 3]"), std::string::npos) << msg;
    }
}

TEST_F(VaeTaehv, video_autoencoder_adapter_streams_frames_without_a_batch_axis) {
    auto ae = make_video_autoencoder(s_model);
    EXPECT_EQ(ae->temporal_ratio(), 4);
    EXPECT_EQ(ae->latent_channels(), 16);
    EXPECT_EQ(ae->decoder_frames_to_trim(), 3);
    const auto x = random_frames(1, 7, 32, 48, 12);
    const auto batch = s_model->encode(x).squeeze(0);
    auto a = ae->encode_frames(x[0].narrow(0, 0, 3));
    EXPECT_EQ(a.sizes(), c10::IntArrayRef({0, 16, 4, 6}));
    auto b = ae->encode_frames(x[0].narrow(0, 3, 4));
    auto c = ae->flush_encoder();
    const auto z = torch::cat({a, b, c});
    ASSERT_EQ(z.sizes(), batch.sizes());
    EXPECT_LT(relative_error(z, batch), kStreamTolerance);
    const auto frames =
        torch::cat({ae->decode_latents(z.narrow(0, 0, 1)), ae->decode_latents(z.narrow(0, 1, 1))});
    EXPECT_EQ(frames.sizes(), c10::IntArrayRef({5, 3, 32, 48}));
    EXPECT_LT(relative_error(frames, s_model->decode(z.unsqueeze(0)).squeeze(0)), kStreamTolerance);
}

TEST_F(VaeTaehv, new_stream_shares_weights_but_not_state) {
    auto ae = make_video_autoencoder(s_model);
    auto other = ae->new_stream();
    const auto z = random_latents(1, 2, 4, 6, 13)[0];
    const auto first = ae->decode_latents(z.narrow(0, 0, 1));
    // The first stream has advanced; the new one starts from the beginning.
    EXPECT_EQ(ae->decode_latents(z.narrow(0, 1, 1)).size(0), 4);
    const auto again = other->decode_latents(z.narrow(0, 0, 1));
    ASSERT_EQ(again.sizes(), first.sizes());
    EXPECT_TRUE(torch::equal(again, first));
}

TEST(VaeAutoencoder, taesd_adapter_is_per_frame_and_kinds_parse) {
    auto ae = random_autoencoder(AutoencoderKind::Taesd, 5, kCpuF32, 16);
    EXPECT_EQ(ae->temporal_ratio(), 1);
    EXPECT_EQ(ae->decoder_frames_to_trim(), 0);
    const auto z = ae->encode_frames(torch::rand({3, 3, 16, 24}));
    EXPECT_EQ(z.sizes(), c10::IntArrayRef({3, 16, 2, 3}));
    EXPECT_EQ(ae->flush_encoder().size(0), 0);
    EXPECT_EQ(ae->decode_latents(z).sizes(), c10::IntArrayRef({3, 3, 16, 24}));
    EXPECT_EQ(parse_autoencoder_kind("taef2"), AutoencoderKind::Taesd);
    EXPECT_EQ(parse_autoencoder_kind("TAEHV"), AutoencoderKind::Taehv);
    EXPECT_THROW(parse_autoencoder_kind("wan-vae"), Error);
}

}  // namespace
}  // namespace lipar::model
