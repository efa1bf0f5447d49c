#include <gtest/gtest.h>

#include "core/device.h"
#include "core/error.h"
#include "core/graph_cache.h"

namespace lipar {

TEST(Core, parse_dtype_accepts_the_documented_names_and_rejects_others) {
    EXPECT_EQ(parse_dtype("bf16"), torch::kBFloat16);
    EXPECT_EQ(parse_dtype("FP16"), torch::kFloat16);
    EXPECT_EQ(parse_dtype("f32"), torch::kFloat32);
    try {
        parse_dtype("int4");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("int4"), std::string::npos);
    }
}

TEST(Core, parse_device_rejects_garbage_and_missing_cuda_with_a_clear_error) {
    EXPECT_EQ(parse_device("cpu"), torch::Device(torch::kCPU));
    EXPECT_THROW(parse_device("tpu"), Error);
    if (!torch::cuda::is_available()) {
        try {
            parse_device("cuda");
            FAIL() << "no error";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), StatusCode::DeviceError);
        }
    }
}

TEST(Core, capture_status_maps_exceptions_to_status_codes) {
    Status s = capture_status([] { fail(StatusCode::NotFound, "file ", "x.pth", " is missing"); });
    EXPECT_EQ(s.code, StatusCode::NotFound);
    EXPECT_EQ(s.message, "file x.pth is missing");
    s = capture_status([] { torch::zeros({2, 3}).view({7}); });
    EXPECT_EQ(s.code, StatusCode::Internal);
    EXPECT_TRUE(capture_status([] {}).ok());
}

TEST(Core, graph_cache_without_cuda_runs_every_call_eagerly_on_the_given_inputs) {
    // The CPU build (and CPU tensors anywhere) never graphs: each call is the body itself, on
    // the caller's tensors, and the report says "off".
    GraphCache graphs;
    torch::NoGradGuard no_grad;
    EXPECT_FALSE(graphs.active(torch::kCPU));
    int calls = 0;
    auto a = torch::arange(4.0), b = torch::arange(4.0) + 10;
    for (const auto& in : {a, b, a}) {
        auto out = graphs.run({1}, {7}, {in}, [&](const std::vector<torch::Tensor>& x) {
            ++calls;
            EXPECT_EQ(x[0].data_ptr(), in.data_ptr());  // no static copy without graphs
            return x[0] * 2;
        });
        EXPECT_TRUE(torch::equal(out, in * 2));
    }
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(graphs.stats().eager, 3);
    EXPECT_EQ(graphs.stats().captures, 0);
    EXPECT_EQ(graphs.size(), 0u);
    EXPECT_EQ(graph_stats_line(graphs.stats(), graphs.usable(torch::kCPU)), "off");
    GraphCache disabled(false);
    EXPECT_FALSE(disabled.usable(torch::Device(torch::kCUDA, 0)));
}

}  // namespace lipar
