#include <gtest/gtest.h>

#include "core/device.h"
#include "core/error.h"

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

}  // namespace lipar
