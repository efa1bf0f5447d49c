#include <gtest/gtest.h>

#include "core/error.h"
#include "io/weights.h"
#include "io_test_util.h"

namespace lipar::io {

using test::contains;

namespace {

struct TinyImpl : torch::nn::Module {
    TinyImpl() {
        fc = register_module("fc", torch::nn::Linear(4, 3));
        seq =
            register_module("seq", torch::nn::Sequential(torch::nn::Linear(3, 2), torch::nn::ReLU(),
                                                         torch::nn::Linear(2, 5)));
        scale = register_buffer("scale", torch::ones({2}));
    }
    torch::nn::Linear fc{nullptr};
    torch::nn::Sequential seq{nullptr};
    torch::Tensor scale;
};
TORCH_MODULE(Tiny);

// A complete checkpoint for Tiny with distinct values, names prefixed by `prefix`.
TensorMap full_weights(const std::string& prefix = "", torch::Dtype dtype = torch::kFloat32) {
    TensorMap m;
    const std::pair<const char*, std::vector<int64_t>> shapes[] = {
        {"fc.weight", {3, 4}}, {"fc.bias", {3}},         {"seq.0.weight", {2, 3}},
        {"seq.0.bias", {2}},   {"seq.2.weight", {5, 2}}, {"seq.2.bias", {5}},
        {"scale", {2}},
    };
    float base = 1.0f;
    for (const auto& [name, shape] : shapes) {
        int64_t numel = 1;
        for (int64_t d : shape)
            numel *= d;
        auto t = torch::arange(numel, torch::kFloat32).reshape(shape) + base;
        m[prefix + name] = t.to(dtype);
        base += 100.0f;
    }
    return m;
}

std::string error_of(Tiny& model,
                     const TensorMap& w,
                     StatusCode expected_code,
                     const ApplyOptions& options = {}) {
    try {
        apply_weights(*model, w, options);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), expected_code) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return {};
}

}  // namespace

TEST(Weights, applies_every_parameter_and_buffer_converting_dtype) {
    Tiny model;
    const TensorMap w = full_weights("", torch::kBFloat16);
    const WeightReport r = apply_weights(*model, w);
    EXPECT_TRUE(r.ok()) << r.summary();
    EXPECT_EQ(r.applied, 7u);
    EXPECT_TRUE(torch::equal(model->fc->weight, w.at("fc.weight").to(torch::kFloat32)));
    EXPECT_EQ(model->fc->weight.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(model->fc->weight.requires_grad());
    const auto& last = model->seq[2]->as<torch::nn::Linear>();
    EXPECT_TRUE(torch::equal(last->bias, w.at("seq.2.bias").to(torch::kFloat32)));
    EXPECT_FLOAT_EQ(last->bias[4].item<float>(), 504.0f);  // 505 rounded to bf16
    EXPECT_TRUE(torch::equal(model->scale, w.at("scale").to(torch::kFloat32)));
}

TEST(Weights, a_wrong_shape_names_the_tensor_and_both_shapes_and_changes_nothing) {
    Tiny model;
    const auto before = model->fc->bias.clone();
    TensorMap w = full_weights();
    w["seq.0.weight"] = torch::zeros({4, 3});
    const std::string msg = error_of(model, w, StatusCode::ShapeMismatch);
    EXPECT_TRUE(contains(msg, "seq.0.weight: checkpoint [4, 3] vs model [2, 3]")) << msg;
    EXPECT_TRUE(contains(msg, "1 shape mismatches")) << msg;
    EXPECT_TRUE(torch::equal(model->fc->bias, before));  // validation precedes any copy
    // Tolerating missing/unexpected names never tolerates a wrong shape.
    EXPECT_THROW(apply_weights(*model, w, {{}, true, true}), Error);
}

TEST(Weights, missing_and_unexpected_names_are_errors_unless_allowed) {
    Tiny model;
    TensorMap w = full_weights();
    w.erase("fc.bias");
    w.erase("scale");
    w["extra.weight"] = torch::zeros({1});
    std::string msg = error_of(model, w, StatusCode::NotFound);
    EXPECT_TRUE(contains(msg, "2 missing from the checkpoint: fc.bias, scale")) << msg;
    EXPECT_TRUE(contains(msg, "1 unexpected in the checkpoint: extra.weight")) << msg;

    msg = error_of(model, w, StatusCode::FormatError, {{}, /*allow_missing=*/true, false});
    EXPECT_FALSE(contains(msg, "missing")) << msg;
    EXPECT_TRUE(contains(msg, "extra.weight")) << msg;

    const WeightReport r = apply_weights(*model, w, {{}, true, true});
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.applied, 5u);
    EXPECT_EQ(r.missing, (std::vector<std::string>{"fc.bias", "scale"}));
    EXPECT_EQ(r.unexpected, (std::vector<std::string>{"extra.weight"}));
    EXPECT_TRUE(contains(r.summary(), "applied 5 tensors; 2 missing: fc.bias, scale"))
        << r.summary();
    EXPECT_FLOAT_EQ(model->fc->weight[0][0].item<float>(), 1.0f);
}

TEST(Weights, error_lists_the_first_ten_names_and_the_count) {
    Tiny model;
    TensorMap w = full_weights();
    for (int i = 0; i < 25; ++i)
        w["junk." + std::to_string(100 + i)] = torch::zeros({1});
    const std::string msg = error_of(model, w, StatusCode::FormatError);
    EXPECT_TRUE(contains(msg, "25 unexpected in the checkpoint: junk.100, junk.101")) << msg;
    EXPECT_TRUE(contains(msg, "junk.109, ... and 15 more")) << msg;
    EXPECT_FALSE(contains(msg, "junk.110")) << msg;
}

TEST(Weights, model_and_generator_prefixes_are_stripped) {
    for (const std::string prefix : {"model.", "generator.model.", "module."}) {
        Tiny model;
        const WeightReport r = apply_weights(*model, full_weights(prefix));
        EXPECT_TRUE(r.ok()) << prefix << ": " << r.summary();
        EXPECT_EQ(r.applied, 7u);
        EXPECT_FLOAT_EQ(model->seq[0]->as<torch::nn::Linear>()->weight[0][0].item<float>(), 201.0f);
    }
    // An exact name wins over a prefixed duplicate, which is then unexpected.
    Tiny model;
    TensorMap w = full_weights();
    w["model.fc.bias"] = torch::full({3}, -1.0f);
    const WeightReport r = apply_weights(*model, w, {{"model."}, false, true});
    EXPECT_EQ(r.unexpected, (std::vector<std::string>{"model.fc.bias"}));
    EXPECT_FLOAT_EQ(model->fc->bias[0].item<float>(), 101.0f);
}

TEST(Weights, nested_checkpoint_names_are_selected_by_prefix) {
    TensorMap nested;
    for (const auto& [k, v] : full_weights("generator.model."))
        nested[k] = v;
    for (const auto& [k, v] : full_weights("generator_ema.model."))
        nested[k] = v * 2;
    // Without selection "generator." is stripped like "model.", and the EMA copy is unexpected;
    // the error says what those names start with.
    Tiny model;
    std::string msg = error_of(model, nested, StatusCode::FormatError);
    EXPECT_TRUE(contains(msg, "7 unexpected in the checkpoint")) << msg;
    EXPECT_TRUE(contains(msg, "unexpected names start with 'generator_ema'")) << msg;
    // Names under an unknown nesting match nothing.
    TensorMap under_run;
    for (const auto& [k, v] : nested)
        under_run["run." + k] = v;
    msg = error_of(model, under_run, StatusCode::NotFound);
    EXPECT_TRUE(contains(msg, "7 missing from the checkpoint")) << msg;
    EXPECT_TRUE(contains(msg, "unexpected names start with 'run'")) << msg;

    const TensorMap ema = select_prefix(nested, "generator_ema");
    EXPECT_EQ(ema.size(), 7u);
    EXPECT_TRUE(ema.count("model.fc.weight"));
    EXPECT_EQ(select_prefix(nested, "generator.").size(), 7u);  // not generator_ema.*
    EXPECT_EQ(select_prefix(nested, "gen").size(), 0u);
    apply_weights(*model, ema);
    EXPECT_FLOAT_EQ(model->fc->weight[0][0].item<float>(), 2.0f);
}

}  // namespace lipar::io
