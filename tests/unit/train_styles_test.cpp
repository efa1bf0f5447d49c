#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <set>

#include "train/prompts.h"
#include "train/styles.h"

namespace lipar::train {
namespace {

torch::Tensor random_frames(uint64_t seed, int64_t n = 2, int64_t h = 48, int64_t w = 64) {
    auto gen = at::detail::createCPUGenerator(seed);
    // Smooth random pictures (a blurred noise field): edges and flat areas both occur.
    auto x = torch::rand({n, 3, h / 8, w / 8}, gen);
    return torch::nn::functional::interpolate(
        x, torch::nn::functional::InterpolateFuncOptions()
               .size(std::vector<int64_t>{h, w})
               .mode(torch::kBilinear)
               .align_corners(false));
}

TEST(TrainStyles, every_style_keeps_shape_and_range_and_is_deterministic) {
    auto x = random_frames(1);
    for (const auto& info : style_catalog()) {
        auto y = apply_style(info.style, x);
        EXPECT_EQ(y.sizes(), x.sizes()) << info.name;
        EXPECT_GE(y.min().item<float>(), 0.0f) << info.name;
        EXPECT_LE(y.max().item<float>(), 1.0f) << info.name;
        EXPECT_TRUE(torch::equal(y, apply_style(info.style, x))) << info.name;
    }
}

TEST(TrainStyles, styles_differ_from_each_other_and_from_the_input) {
    auto x = random_frames(2);
    const auto& cat = style_catalog();
    for (size_t i = 1; i < cat.size(); ++i) {
        auto yi = apply_style(cat[i].style, x);
        EXPECT_GT((yi - x).abs().mean().item<double>(), 0.02) << cat[i].name << " looks like the input";
        for (size_t j = i + 1; j < cat.size(); ++j) {
            auto yj = apply_style(cat[j].style, x);
            EXPECT_GT((yi - yj).abs().mean().item<double>(), 0.02) << cat[i].name << " vs " << cat[j].name;
        }
    }
}

TEST(TrainStyles, simple_operators_compute_their_formulas) {
    auto x = random_frames(3);
    EXPECT_TRUE(torch::allclose(apply_style(Style::Original, x), x));
    EXPECT_TRUE(torch::allclose(apply_style(Style::Negative, x), 1.0 - x));
    auto bw = apply_style(Style::BlackWhite, x);
    EXPECT_LT((bw.narrow(1, 0, 1) - bw.narrow(1, 2, 1)).abs().max().item<double>(), 1e-6);
    auto expected_y = 0.299 * x.narrow(1, 0, 1) + 0.587 * x.narrow(1, 1, 1) + 0.114 * x.narrow(1, 2, 1);
    EXPECT_TRUE(torch::allclose(bw.narrow(1, 1, 1), expected_y, 1e-5, 1e-6));
    auto sepia = apply_style(Style::Sepia, x);
    auto r = (0.393 * x.narrow(1, 0, 1) + 0.769 * x.narrow(1, 1, 1) + 0.189 * x.narrow(1, 2, 1)).clamp(0, 1);
    EXPECT_TRUE(torch::allclose(sepia.narrow(1, 0, 1), r, 1e-5, 1e-6));
    // Sketches are grey; night vision is green.
    auto sketch = apply_style(Style::PencilSketch, x);
    EXPECT_LT((sketch.narrow(1, 0, 1) - sketch.narrow(1, 1, 1)).abs().max().item<double>(), 1e-6);
    auto nv = apply_style(Style::NightVision, x);
    EXPECT_GT(nv.narrow(1, 1, 1).mean().item<double>(), 2.0 * nv.narrow(1, 0, 1).mean().item<double>());
}

TEST(TrainStyles, blur_preserves_constants_and_sobel_sees_edges) {
    auto flat = torch::full({1, 3, 20, 20}, 0.3);
    EXPECT_TRUE(torch::allclose(gaussian_blur(flat, 2.0), flat, 1e-5, 1e-6));
    EXPECT_LT(sobel_magnitude(luminance(flat)).max().item<double>(), 1e-5);
    auto step = torch::zeros({1, 1, 10, 10});
    step.narrow(3, 5, 5).fill_(1.0);
    auto edges = sobel_magnitude(step);
    EXPECT_GT(edges[0][0][5][5].item<double>(), 0.4);
    EXPECT_LT(edges[0][0][5][1].item<double>(), 1e-5);
}

TEST(TrainStyles, catalog_names_are_unique_and_held_out_phrasings_are_not_trained) {
    std::set<std::string> names, phrasings;
    for (const auto& info : style_catalog()) {
        EXPECT_TRUE(names.insert(info.name).second) << info.name;
        EXPECT_EQ(parse_style(info.name), info.style);
        EXPECT_GE(info.phrasings.size(), 8u) << info.name;
        EXPECT_EQ(info.phrasings.front(), info.name);
        for (const auto& p : info.phrasings) EXPECT_TRUE(phrasings.insert(p).second) << p;
    }
    for (const auto& info : style_catalog()) {
        for (const auto& h : info.held_out) EXPECT_EQ(phrasings.count(h), 0u) << h;
    }
    EXPECT_EQ(parse_style("no such style"), Style::Invalid);
    EXPECT_GE(style_catalog().size(), 13u);
}

TEST(TrainPrompts, sampler_is_seeded_and_never_draws_a_held_out_prompt) {
    PromptSampler a(7), b(7);
    std::set<std::string> seen;
    for (int i = 0; i < 2000; ++i) {
        const Style s = style_catalog()[static_cast<size_t>(i) % style_catalog().size()].style;
        auto pa = a.sample(s), pb = b.sample(s);
        EXPECT_EQ(pa.text, pb.text);
        EXPECT_EQ(pa.style, s);
        seen.insert(pa.text);
    }
    EXPECT_GT(seen.size(), 500u);
    for (const auto& h : PromptSampler::held_out_prompts()) EXPECT_EQ(seen.count(h.text), 0u) << h.text;
}

}  // namespace
}  // namespace lipar::train
