// The UMT5 encoder on small random configurations: the relative-position buckets against values
// derived by hand from T5's formula, a naive per-head re-implementation of the forward pass,
// masking, dtypes, input validation. Weight files: text_umt5_weights_test.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "core/device.h"
#include "core/error.h"
#include "model/text/prompt_encoder.h"
#include "model/text/umt5.h"
#include "text_test_util.h"

using namespace lipar::model;
using lipar::test::random_ids;
using lipar::test::small_config;
using lipar::test::state_dict;

namespace {

TEST(Umt5, relative_position_bucket_matches_hand_computed_values) {
    // rel = memory - query; 32 buckets -> 16 per direction, 8 exact, log-spaced up to 128:
    // bucket = 8 + floor(ln(d / 8) / ln(16) * 8), clamped to 15, +16 for positive distances.
    const std::vector<std::pair<int64_t, int64_t>> expected = {
        {0, 0},    {-1, 1},    {1, 17},    {-7, 7},    {7, 23},   {-8, 8},    {8, 24},
        {-12, 9},  {-15, 9},   {15, 25},   {20, 26},   {24, 27},  {-40, 12},  {45, 28},
        {-90, 14}, {-100, 15}, {-127, 15}, {-128, 15}, {128, 31}, {-500, 15}, {1000, 31}};
    std::vector<int64_t> rel;
    for (const auto& [r, b] : expected)
        rel.push_back(r);
    const auto buckets = relative_position_bucket(torch::tensor(rel), 32, 128);
    ASSERT_EQ(buckets.scalar_type(), torch::kInt64);
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(buckets[i].item<int64_t>(), expected[i].second)
            << "distance " << expected[i].first;
    }
}

TEST(Umt5, relative_position_buckets_are_monotonic_and_in_range) {
    const auto rel = torch::arange(-600, 601, torch::kInt64);
    const auto b = relative_position_bucket(rel, 32, 128);
    EXPECT_EQ(b.min().item<int64_t>(), 0);
    EXPECT_EQ(b.max().item<int64_t>(), 31);
    const auto neg = b.slice(0, 0, 601).flip(0);  // distance 0, -1, ..., -600
    const auto pos = b.slice(0, 601);             // distance 1..600
    EXPECT_TRUE(neg.slice(0, 1).ge(neg.slice(0, 0, -1)).all().item<bool>());
    EXPECT_TRUE(pos.slice(0, 1).ge(pos.slice(0, 0, -1)).all().item<bool>());
    EXPECT_TRUE(pos.ge(16).all().item<bool>());
    EXPECT_TRUE(neg.lt(16).all().item<bool>());
}

TEST(Umt5, module_names_follow_hugging_face_with_a_bias_per_layer) {
    Umt5Encoder model(small_config(), torch::kFloat32);
    const auto params = model->named_parameters();
    EXPECT_EQ(params.size(), 1u + 2u * 10u + 1u);
    for (const char* name : {"shared.weight", "encoder.final_layer_norm.weight",
                             "encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight",
                             "encoder.block.0.layer.0.SelfAttention.q.weight",
                             "encoder.block.0.layer.0.layer_norm.weight",
                             "encoder.block.1.layer.1.DenseReluDense.wi_0.weight",
                             "encoder.block.1.layer.1.DenseReluDense.wi_1.weight",
                             "encoder.block.1.layer.1.DenseReluDense.wo.weight",
                             "encoder.block.1.layer.1.layer_norm.weight"}) {
        EXPECT_TRUE(params.contains(name)) << name;
    }
    EXPECT_EQ(
        params["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"].sizes(),
        (std::vector<int64_t>{32, 4}));
    EXPECT_EQ(params["encoder.block.0.layer.1.DenseReluDense.wo.weight"].sizes(),
              (std::vector<int64_t>{32, 48}));
    EXPECT_EQ(small_config().parameter_count(), [&] {
        int64_t n = 0;
        for (const auto& p : model->parameters())
            n += p.numel();
        return n;
    }());
}

// A direct transcription of the T5 encoder equations with per-head loops in float64; valid for
// sequences shorter than 8 where every relative distance has its own bucket.
torch::Tensor naive_forward(const lipar::io::TensorMap& w,
                            const Umt5Config& c,
                            const torch::Tensor& ids,
                            const torch::Tensor& mask) {
    auto W = [&](const std::string& name) { return w.at(name).to(torch::kFloat64); };
    auto rms = [&](const torch::Tensor& x, const torch::Tensor& g) {
        return x / torch::sqrt(x.pow(2).mean(-1, true) + c.eps) * g;
    };
    const int64_t L = ids.size(0);
    auto x = W("shared.weight").index_select(0, ids);
    for (int64_t layer = 0; layer < c.num_layers; ++layer) {
        const std::string p = "encoder.block." + std::to_string(layer) + ".layer.";
        auto h = rms(x, W(p + "0.layer_norm.weight"));
        auto bias = W(p + "0.SelfAttention.relative_attention_bias.weight");
        std::vector<torch::Tensor> head_outputs;
        for (int64_t n = 0; n < c.num_heads; ++n) {
            auto rows = [&](const char* m) {
                return W(p + "0.SelfAttention." + m + ".weight")
                    .slice(0, n * c.d_kv, (n + 1) * c.d_kv);
            };
            auto q = h.matmul(rows("q").t()), k = h.matmul(rows("k").t()),
                 v = h.matmul(rows("v").t());
            auto s = q.matmul(k.t());
            for (int64_t i = 0; i < L; ++i) {
                for (int64_t j = 0; j < L; ++j) {
                    const int64_t bucket = j > i ? 16 + (j - i) : i - j;
                    s[i][j] += bias[bucket][n];
                    if (mask[j].item<int64_t>() == 0)
                        s[i][j] = -INFINITY;
                }
            }
            auto e = torch::exp(s - std::get<0>(s.max(1, true)));
            head_outputs.push_back((e / e.sum(1, true)).matmul(v));
        }
        x = x + torch::cat(head_outputs, 1).matmul(W(p + "0.SelfAttention.o.weight").t());
        auto h2 = rms(x, W(p + "1.layer_norm.weight"));
        auto a = h2.matmul(W(p + "1.DenseReluDense.wi_0.weight").t());
        auto gelu = 0.5 * a * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (a + 0.044715 * a.pow(3))));
        x = x + (gelu * h2.matmul(W(p + "1.DenseReluDense.wi_1.weight").t()))
                    .matmul(W(p + "1.DenseReluDense.wo.weight").t());
    }
    return rms(x, W("encoder.final_layer_norm.weight"));
}

TEST(Umt5, forward_matches_a_naive_per_head_transcription) {
    const auto c = small_config();
    auto model = make_random_umt5(c, torch::kFloat32, 7);
    const auto w = state_dict(*model);
    const auto ids = random_ids(2, 7, c.vocab_size, 3);
    auto mask = torch::ones({2, 7}, torch::kInt64);
    mask[1].slice(0, 4).fill_(0);
    const auto out = model->forward(ids, mask);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 7, 32}));
    ASSERT_EQ(out.scalar_type(), torch::kFloat32);
    for (int64_t b = 0; b < 2; ++b) {
        const auto ref = naive_forward(w, c, ids[b], mask[b]);
        EXPECT_LT(lipar::relative_error(out[b], ref), 1e-5) << "batch " << b;
    }
    EXPECT_GT(out.abs().mean().item<double>(), 0.1);  // not trivially zero
}

TEST(Umt5, attention_mask_hides_padding_from_real_rows) {
    const auto c = small_config();
    auto model = make_random_umt5(c, torch::kFloat32, 11);
    auto ids = random_ids(1, 20, c.vocab_size, 5);
    auto mask = torch::ones({1, 20}, torch::kInt64);
    mask.slice(1, 12).fill_(0);
    auto changed = ids.clone();
    changed.slice(1, 12) = (changed.slice(1, 12) + 17) % c.vocab_size;

    const auto a = model->forward(ids, mask), b = model->forward(changed, mask);
    EXPECT_TRUE(torch::allclose(a.slice(1, 0, 12), b.slice(1, 0, 12), 1e-6, 1e-6));
    EXPECT_FALSE(torch::allclose(a.slice(1, 12), b.slice(1, 12), 1e-3, 1e-3));
    // Without the mask the same change reaches the real rows: the mask is what hides it.
    const auto c0 = model->forward(ids), c1 = model->forward(changed);
    EXPECT_FALSE(torch::allclose(c0.slice(1, 0, 12), c1.slice(1, 0, 12), 1e-3, 1e-3));
    // Running only the real tokens gives the same real rows as the masked full-length pass.
    const auto trimmed = model->forward(ids.slice(1, 0, 12));
    EXPECT_LT(lipar::relative_error(trimmed, a.slice(1, 0, 12)), 1e-6);
}

TEST(Umt5, zero_padding_rows_zeroes_exactly_the_padding) {
    auto hidden = torch::randn({2, 5, 3}) + 10;
    auto mask = torch::tensor({1, 1, 1, 0, 0, 1, 0, 0, 0, 0}, torch::kInt64).view({2, 5});
    const auto z = zero_padding_rows(hidden, mask);
    EXPECT_TRUE(torch::equal(z[0].slice(0, 0, 3), hidden[0].slice(0, 0, 3)));
    EXPECT_TRUE(z[0].slice(0, 3).eq(0).all().item<bool>());
    EXPECT_TRUE(torch::equal(z[1][0], hidden[1][0]));
    EXPECT_TRUE(z[1].slice(0, 1).eq(0).all().item<bool>());
    EXPECT_THROW(zero_padding_rows(hidden, mask.slice(1, 0, 4)), lipar::Error);
}

TEST(Umt5, bf16_module_tracks_float32) {
    const auto c = small_config();
    auto f32 = make_random_umt5(c, torch::kFloat32, 13);
    auto bf16 = make_random_umt5(c, torch::kBFloat16, 13);
    const auto ids = random_ids(1, 24, c.vocab_size, 2);
    const auto out = bf16->forward(ids);
    EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
    EXPECT_LT(lipar::relative_error(out, f32->forward(ids)), 3e-2);
}

TEST(Umt5, bad_inputs_and_dtypes_raise_errors) {
    const auto c = small_config();
    auto model = make_random_umt5(c, torch::kFloat32, 1);
    auto code_of = [](auto&& fn) {
        try {
            fn();
        } catch (const lipar::Error& e) {
            return e.code();
        }
        return lipar::StatusCode::Ok;
    };
    using lipar::StatusCode;
    EXPECT_EQ(code_of([&] {
                  model->forward(torch::full({1, 3}, 64, torch::kInt64));
              }),
              StatusCode::InvalidArgument);
    EXPECT_EQ(code_of([&] {
                  model->forward(torch::full({1, 3}, -1, torch::kInt64));
              }),
              StatusCode::InvalidArgument);
    EXPECT_EQ(code_of([&] { model->forward(torch::zeros({3}, torch::kInt64)); }),
              StatusCode::ShapeMismatch);
    EXPECT_EQ(code_of([&] {
                  model->forward(torch::zeros({1, 3}, torch::kInt64), torch::ones({1, 4}));
              }),
              StatusCode::ShapeMismatch);
    EXPECT_EQ(code_of([&] { model->forward(torch::zeros({1, 3})); }), StatusCode::InvalidArgument);
    EXPECT_EQ(code_of([&] { Umt5Encoder half(c, torch::kFloat16); }), StatusCode::Unsupported);
    auto bad = c;
    bad.num_buckets = 3;
    EXPECT_EQ(code_of([&] { Umt5Encoder odd(bad, torch::kFloat32); }), StatusCode::InvalidArgument);
}

TEST(Umt5, release_frees_weights_and_blocks_forward) {
    auto model = make_random_umt5(small_config(), torch::kFloat32, 2);
    model->release();
    EXPECT_TRUE(model->released());
    for (const auto& p : model->parameters())
        EXPECT_EQ(p.numel(), 0);
    EXPECT_THROW(model->forward(torch::zeros({1, 2}, torch::kInt64)), lipar::Error);
}

}  // namespace
