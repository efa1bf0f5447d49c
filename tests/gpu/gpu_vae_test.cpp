// Tiny autoencoders on CUDA (f32/bf16/f16) against the CPU fp32 result; skipped without CUDA.
//   ./build-gpu/tests/lipar_gpu_tests --gtest_filter='GpuVae*'
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <iostream>

#include "core/device.h"
#include "core/timer.h"
#include "media/video_source.h"
#include "model/vae/taehv.h"
#include "model/vae/taesd.h"

namespace lipar::model {

namespace {

bool have_cuda() {
    return torch::cuda::is_available();
}

std::string taef2(const std::string& part) {
    return std::string(LIPAR_SHARED_DIR) + "/models/taef2/taef2_" + part + ".safetensors";
}

// Two real frames when the clip can be decoded here, else a smooth synthetic pair.
torch::Tensor test_frames() {
    try {
        const auto frames = media::read_video_frames(
            LIPAR_TEST_CLIP, 2);
        std::vector<torch::Tensor> planes;
        for (const auto& f : frames) {
            auto hwc = torch::from_blob(const_cast<uint8_t*>(f.rgb.data()), {f.height, f.width, 3},
                                        torch::kUInt8);
            planes.push_back(hwc.permute({2, 0, 1}).to(torch::kFloat32).div(255.0));
        }
        if (planes.size() == 2)
            return torch::stack(planes);
    } catch (const std::exception& e) {
        std::cout << "[ info ] clip not decodable here (" << e.what() << "); synthetic frames\n";
    }
    auto gen = at::detail::createCPUGenerator(5);
    auto coarse = torch::rand({2, 3, 15, 26}, gen, torch::TensorOptions());
    return torch::nn::functional::interpolate(coarse,
                                              torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{480, 832})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false));
}

// bf16 keeps 8 mantissa bits: on CPU (oneDNN) the taef2 encoder's latents differ from fp32 by
// 1.35e-2 relative, so bf16 gets 2e-2; f32 allows for TF32 convolutions.
double tolerance(torch::Dtype dtype) {
    switch (dtype) {
        case torch::kFloat32:
            return 5e-3;
        case torch::kBFloat16:
            // Measured on an H200: taef2 encode 5.6e-2 in bf16 (its weights are fp16; 8 mantissa
            // bits are too few for its 64-channel stacks). The editor runs autoencoders in fp16 on
            // CUDA for that reason; this bound only guards against a broken bf16 path.
            return 8e-2;
        default:
            return 1e-2;
    }
}

const torch::Dtype kDtypes[] = {torch::kFloat32, torch::kBFloat16, torch::kFloat16};

}  // namespace

TEST(GpuVae, taef2_cuda_bf16_and_fp16_track_cpu_fp32) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    use_all_cpu_threads();
    const auto x = test_frames();
    auto cpu = TinyImageAutoencoder::load(taef2("encoder"), taef2("decoder"), {});
    const auto z_ref = cpu->encode(x);
    const auto y_ref = cpu->decode(z_ref);
    for (auto dtype : kDtypes) {
        const auto options = torch::TensorOptions().device(torch::kCUDA).dtype(dtype);
        auto gpu = TinyImageAutoencoder::load(taef2("encoder"), taef2("decoder"), options);
        const auto z = gpu->encode(x).cpu();
        const auto y = gpu->decode(z_ref).cpu();
        const double enc = relative_error(z, z_ref), dec = relative_error(y, y_ref);
        const auto round_trip = gpu->decode(gpu->encode(x)).cpu().to(torch::kFloat64);
        const double mse = (round_trip - x.to(torch::kFloat64)).pow(2).mean().item<double>();
        std::cout << "[ info ] taef2 cuda " << dtype_name(dtype) << " vs cpu f32: encode " << enc
                  << ", decode " << dec << "; round-trip PSNR " << 10 * std::log10(1.0 / mse)
                  << " dB\n";
        EXPECT_LT(enc, tolerance(dtype)) << dtype_name(dtype);
        EXPECT_LT(dec, tolerance(dtype)) << dtype_name(dtype);
    }
}

TEST(GpuVae, taehv_random_cuda_bf16_and_fp16_track_cpu_fp32) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    use_all_cpu_threads();
    auto gen = at::detail::createCPUGenerator(21);
    const auto x = torch::rand({1, 8, 3, 64, 96}, gen, torch::TensorOptions());
    const auto zin = torch::randn({1, 3, 16, 8, 12}, gen, torch::TensorOptions());
    auto cpu = Taehv::random(42, {});
    const auto z_ref = cpu->encode(x);
    const auto y_ref = cpu->decode(zin);
    for (auto dtype : kDtypes) {
        auto gpu = Taehv::random(42, torch::TensorOptions().device(torch::kCUDA).dtype(dtype));
        const double enc = relative_error(gpu->encode(x).cpu(), z_ref);
        const double dec = relative_error(gpu->decode(zin).cpu(), y_ref);
        std::cout << "[ info ] taehv cuda " << dtype_name(dtype) << " vs cpu f32: encode " << enc
                  << ", decode " << dec << "\n";
        EXPECT_LT(enc, tolerance(dtype)) << dtype_name(dtype);
        EXPECT_LT(dec, tolerance(dtype)) << dtype_name(dtype);
    }
}

TEST(GpuVae, taehv_cuda_streaming_equals_batch) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    const auto options = torch::TensorOptions().device(torch::kCUDA);
    auto model = Taehv::random(43, options);
    const auto x = torch::rand({1, 8, 3, 64, 96}, options);
    const auto batch = model->encode(x);
    TaehvEncoderState enc;
    std::vector<torch::Tensor> zs;
    for (int64_t t = 0; t < 8; ++t)
        zs.push_back(model->encode_step(enc, x.narrow(1, t, 1)));
    EXPECT_LT(relative_error(torch::cat(zs, 1), batch), 1e-3);
    const auto frames = model->decode(batch);
    TaehvDecoderState dec;
    std::vector<torch::Tensor> ys;
    for (int64_t k = 0; k < batch.size(1); ++k)
        ys.push_back(model->decode_step(dec, batch.narrow(1, k, 1)));
    EXPECT_LT(relative_error(torch::cat(ys, 1), frames), 1e-3);
}

TEST(GpuVae, report_decode_speed_at_480x832) {
    if (!have_cuda())
        GTEST_SKIP() << "no CUDA device";
    const torch::Device cuda(torch::kCUDA);
    for (auto dtype : {torch::kBFloat16, torch::kFloat16}) {
        const auto options = torch::TensorOptions().device(cuda).dtype(dtype);
        auto taesd = TinyImageAutoencoder::load(taef2("encoder"), taef2("decoder"), options);
        auto taehv = Taehv::random(1, options);
        const auto z32 = torch::randn({4, 32, 60, 104}, options);
        const auto z16 = torch::randn({1, 1, 16, 60, 104}, options);
        const auto x = torch::rand({4, 3, 480, 832}, options);
        for (int warm = 0; warm < 2; ++warm) {
            taesd->decode(z32);
            taesd->encode(x);
            TaehvDecoderState state;
            taehv->decode_step(state, z16);
            taehv->decode_step(state, z16);
        }
        Timer timer;
        for (int i = 0; i < 5; ++i)
            taesd->encode(x);
        const double enc_ms = timer.elapsed_ms(cuda) / 20;
        timer.reset();
        for (int i = 0; i < 5; ++i)
            taesd->decode(z32);
        const double dec_ms = timer.elapsed_ms(cuda) / 20;
        TaehvDecoderState state;
        taehv->decode_step(state, z16);
        timer.reset();
        for (int i = 0; i < 5; ++i)
            taehv->decode_step(state, z16);
        const double hv_ms = timer.elapsed_ms(cuda) / 20;
        std::cout << "[ info ] " << dtype_name(dtype) << " 480x832 per frame: taef2 encode "
                  << enc_ms << " ms, taef2 decode " << dec_ms << " ms, taehv decode " << hv_ms
                  << " ms\n";
    }
}

}  // namespace lipar::model
