#pragma once
// Training material for the Nano pack held in memory: real clips (decoded through media/, resized
// so the short side is `short_side`) and still photographs turned into clips by synthetic camera
// motion (pans, zooms, a slight rotation). Samples are random crops with flips, speed changes and
// reversal. An evaluation split is kept apart: whole files named in `holdout`, and the last
// `holdout_tail` of every other video.
//
// Frames live on the training device as uint8; sampling runs there. One thread uses a dataset.

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lipar::train {

struct DatasetOptions {
    std::vector<std::string> inputs;   // files or folders (videos: mp4 webm avi mkv mov y4m;
                                       // stills: jpg jpeg png, or a one-frame y4m)
    std::vector<std::string> holdout;  // file names (without folder) kept for evaluation only
    double holdout_tail = 0.2;         // of every other video, the last fraction is held out
    int short_side = 224;
    int64_t max_frames_per_video = -1;  // -1 = all
    torch::Device device{torch::kCPU};
};

enum class Split { Invalid = 0, Train, Eval };

class VideoDataset {
public:
    // Throws Error(NotFound) when an input is missing or nothing usable was found,
    // Error(InvalidArgument) when the split leaves no training frames.
    static VideoDataset load(const DatasetOptions& options);

    // N random clips of `frames` frames: float [N, T, 3, height, width] in [0, 1] on the device.
    torch::Tensor batch(std::mt19937_64& rng, int64_t n, int64_t frames, int64_t height,
                        int64_t width, Split split = Split::Train) const;

    int64_t videos() const;
    int64_t stills() const;
    int64_t frames(Split split) const;
    std::string describe() const;  // one line per source with its split

private:
    struct Source {
        std::string name;
        torch::Tensor frames;  // uint8 [T, 3, H, W] on the device
        bool still = false;
        bool held_out = false;      // the whole source is evaluation material
        int64_t train_end = 0;      // frames [0, train_end) train, [train_end, T) evaluate
    };
    torch::Tensor sample_video(std::mt19937_64& rng, const Source& s, int64_t frames, int64_t h,
                               int64_t w, Split split) const;
    torch::Tensor sample_still(std::mt19937_64& rng, const Source& s, int64_t frames, int64_t h,
                               int64_t w) const;

    std::vector<Source> m_sources;
    torch::Device m_device{torch::kCPU};
};

}  // namespace lipar::train
