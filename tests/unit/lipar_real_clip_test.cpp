// LIPAR on a real clip: taef2 latents of ../shared/data/clips/dog_grass_832x480.mp4.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/device.h"
#include "core/log.h"
#include "lipar/detector.h"
#include "media/convert.h"
#include "media/video_source.h"
#include "model/vae/autoencoder.h"
#include "pipeline/editor.h"
#include "pipeline/random_pack.h"
#include "common/remove_tree.h"

namespace lipar::accel {
namespace {

namespace fs = std::filesystem;
const std::string kShared = LIPAR_SHARED_DIR;
const std::string kEncoder = kShared + "/models/taef2/taef2_encoder.safetensors";
const std::string kDecoder = kShared + "/models/taef2/taef2_decoder.safetensors";

// taef2 latents [32, F, h, w] of the first `frames` frames of the clip at width x height.
torch::Tensor clip_latents(int frames, int width, int height) {
    auto video = media::read_video_frames(LIPAR_TEST_CLIP, frames);
    auto ae = model::load_autoencoder("taesd", kEncoder, "", torch::TensorOptions());
    std::vector<torch::Tensor> rgb;
    for (const auto& f : video) {
        Frame fitted = (f.width == width && f.height == height)
                           ? f
                           : media::fit_frame(f, width, height, media::FitMode::Crop);
        rgb.push_back(torch::from_blob(fitted.rgb.data(), {height, width, 3}, torch::kUInt8)
                          .permute({2, 0, 1})
                          .to(torch::kFloat32)
                          .div(255.0));
    }
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> z;
    for (size_t i = 0; i < rgb.size(); i += 3) {
        const size_t n = std::min<size_t>(3, rgb.size() - i);
        z.push_back(ae->encode_frames(torch::stack(std::vector<torch::Tensor>(
            rgb.begin() + static_cast<long>(i), rgb.begin() + static_cast<long>(i + n)))));
    }
    return torch::cat(z, 0).permute({1, 0, 2, 3}).contiguous();  // [C, F, h, w]
}

}  // namespace

TEST(LiparRealClip, default_thresholds_prune_part_of_the_real_clip_at_full_resolution) {
if (!std::filesystem::exists(LIPAR_TEST_CLIP))
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    auto z = clip_latents(9, 832, 480);  // 3 blocks of 3 latent frames, 30x52 tokens each
    ASSERT_EQ(z.sizes(), (std::vector<int64_t>{32, 9, 60, 104}));
    DuplicateDetector detector;  // tau1 0.15, tau2 0.3
    double kept = 0;
    std::vector<double> per_frame;
    for (int64_t s = 0; s < 9; s += 3) {
        auto r = detector.detect(z.narrow(1, s, 3));
        detector.commit_block(r.keep);
        kept += r.kept_ratio / 3.0;
        per_frame.insert(per_frame.end(), r.kept_ratio_per_frame.begin(), r.kept_ratio_per_frame.end());
    }
    std::string frames;
    for (double k : per_frame) frames += " " + std::to_string(k).substr(0, 5);
    LIPAR_LOG_INFO("LIPAR kept ratio on dog_grass_832x480.mp4 (taef2 latents, 9 latent frames, "
                   "tau1 0.15, tau2 0.3): ", kept, " per frame:", frames);
    std::cout << "[ kept ] dog_grass taef2 kept ratio " << kept << " per frame" << frames << "\n";
    EXPECT_EQ(per_frame[0], 1.0);  // the first frame of a stream is always kept
    EXPECT_GT(kept, 0.0);
    EXPECT_LT(kept, 1.0);
}

TEST(LiparRealClip, zero_thresholds_keep_every_changed_token_and_lipar_then_equals_off) {
if (!std::filesystem::exists(LIPAR_TEST_CLIP))
        GTEST_SKIP() << "needs the clip (FFmpeg, or its y4m copy in a build without FFmpeg)";
    use_all_cpu_threads();
    auto z = clip_latents(9, 256, 128);  // [32, 9, 16, 32]
    // Every token of a real clip changes at least slightly from frame to frame.
    auto tokens = z.view({32, 9, 8, 2, 16, 2}).permute({1, 2, 4, 0, 3, 5}).reshape({9, 8, 16, -1});
    auto changed = (tokens.narrow(0, 1, 8) - tokens.narrow(0, 0, 8)).abs().amax(-1) > 0;
    ASSERT_TRUE(changed.all().item<bool>());

    DetectorConfig cfg;
    cfg.tau1 = 0.0;
    cfg.tau2 = 0.0;
    auto seq = detect_sequence(z, cfg, 3);
    EXPECT_TRUE(seq.keep.all().item<bool>()) << "kept ratio " << seq.kept_ratio;

    pipeline::RandomPackOptions o;
    o.config = "tiny";
    o.autoencoder = "taesd:" + kEncoder + "," + kDecoder;
    o.out = (fs::temp_directory_path() / ("lipar_real_clip_pack_" + std::to_string(::getpid()))).string();
    const auto pack = pipeline::write_random_pack(o);
    pipeline::EditorSettings s;
    s.width = 256;
    s.height = 128;
    pipeline::Editor editor(pack, s);
    auto run = [&](EditMode mode) {
        EditParams p;
        p.mode = mode;
        p.tau1 = 0.0;
        p.tau2 = 0.0;
        p.prompt = "a dog in a meadow, oil painting";
        editor.reset();
        editor.set_params(p);
        std::vector<torch::Tensor> x0;
        for (int64_t b = 0; b < 3; ++b) {
            x0.push_back(editor.edit_latents(z.narrow(1, 3 * b, 3)));
            if (mode != EditMode::Off) EXPECT_EQ(editor.last_report().kept_ratio, 1.0);
        }
        return torch::cat(x0, 2);
    };
    auto off = run(EditMode::Off);
    auto lipar = run(EditMode::Lipar);
    EXPECT_LT(relative_error(lipar, off), 1e-5);
    lipar::test::remove_tree(o.out);
}

}  // namespace lipar::accel
