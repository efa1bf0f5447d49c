#include "train/video_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/log.h"
#include "media/video_source.h"

namespace lipar::train {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace {

bool is_still_ext(const std::string& ext) { return ext == ".jpg" || ext == ".jpeg" || ext == ".png"; }
bool is_video_ext(const std::string& ext) {
    for (const char* e : {".mp4", ".webm", ".avi", ".mkv", ".mov", ".y4m", ".m4v"})
        if (ext == e) return true;
    return false;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
    std::vector<std::string> files;
    for (const auto& in : inputs) {
        LIPAR_CHECK(fs::exists(in), StatusCode::NotFound, "training data '", in, "' does not exist");
        if (fs::is_directory(in)) {
            std::vector<std::string> found;
            for (const auto& e : fs::directory_iterator(in)) {
                const auto ext = media::lower_extension(e.path().string());
                if (e.is_regular_file() && (is_video_ext(ext) || is_still_ext(ext)))
                    found.push_back(e.path().string());
            }
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else {
            files.push_back(in);
        }
    }
    return files;
}

// uint8 RGB frame -> uint8 [3, h, w] with the short side resized to `short_side` (area filter).
torch::Tensor frame_to_tensor(const Frame& f, int short_side) {
    auto t = torch::from_blob(const_cast<uint8_t*>(f.rgb.data()), {f.height, f.width, 3},
                              torch::kUInt8)
                 .permute({2, 0, 1})
                 .to(torch::kFloat32)
                 .unsqueeze(0);
    const double scale = double(short_side) / double(std::min(f.width, f.height));
    if (scale < 1.0) {
        const auto h = static_cast<int64_t>(std::lround(f.height * scale));
        const auto w = static_cast<int64_t>(std::lround(f.width * scale));
        t = F::interpolate(t, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{h, w})
                                  .mode(torch::kArea));
    }
    return t.squeeze(0).round().clamp(0, 255).to(torch::kUInt8);
}

double uniform(std::mt19937_64& rng, double a, double b) {
    return std::uniform_real_distribution<double>(a, b)(rng);
}
int64_t uniform_int(std::mt19937_64& rng, int64_t a, int64_t b) {  // inclusive
    return std::uniform_int_distribution<int64_t>(a, b)(rng);
}

}  // namespace

VideoDataset VideoDataset::load(const DatasetOptions& options) {
    VideoDataset ds;
    ds.m_device = options.device;
    const auto files = expand_inputs(options.inputs);
    LIPAR_CHECK(!files.empty(), StatusCode::NotFound,
                "no training videos or images found in the given --data paths");
    for (const auto& path : files) {
        Source s;
        s.name = fs::path(path).filename().string();
        s.held_out = std::find(options.holdout.begin(), options.holdout.end(), s.name) !=
                     options.holdout.end();
        auto source = media::open_video(path);
        std::vector<torch::Tensor> frames;
        Frame f;
        while ((options.max_frames_per_video < 0 ||
                static_cast<int64_t>(frames.size()) < options.max_frames_per_video) &&
               source->read(f)) {
            frames.push_back(frame_to_tensor(f, options.short_side));
        }
        LIPAR_CHECK(!frames.empty(), StatusCode::FormatError, path, ": no frame could be read");
        s.still = frames.size() == 1 || is_still_ext(media::lower_extension(path));
        s.frames = torch::stack(frames).to(options.device);
        const auto t = s.frames.size(0);
        s.train_end = s.held_out ? 0 : s.still ? t
                                   : std::max<int64_t>(1, static_cast<int64_t>(
                                                              std::floor(t * (1.0 - options.holdout_tail))));
        ds.m_sources.push_back(std::move(s));
    }
    LIPAR_CHECK(ds.frames(Split::Train) > 0, StatusCode::InvalidArgument,
                "every training file is held out: nothing left to train on");
    LIPAR_LOG_INFO("training data: ", ds.videos(), " videos, ", ds.stills(), " stills, ",
                   ds.frames(Split::Train), " training frames, ", ds.frames(Split::Eval),
                   " evaluation frames");
    return ds;
}

int64_t VideoDataset::videos() const {
    return std::count_if(m_sources.begin(), m_sources.end(), [](const Source& s) { return !s.still; });
}
int64_t VideoDataset::stills() const {
    return std::count_if(m_sources.begin(), m_sources.end(), [](const Source& s) { return s.still; });
}

int64_t VideoDataset::frames(Split split) const {
    int64_t n = 0;
    for (const auto& s : m_sources) {
        const int64_t t = s.frames.size(0);
        n += split == Split::Train ? s.train_end : (s.still ? 0 : t - s.train_end);
    }
    return n;
}

std::string VideoDataset::describe() const {
    std::ostringstream o;
    for (const auto& s : m_sources) {
        o << "  " << s.name << ": " << s.frames.size(0) << (s.still ? " still" : " frames") << " "
          << s.frames.size(3) << "x" << s.frames.size(2);
        if (s.held_out) o << ", held out";
        else if (!s.still) o << ", train " << s.train_end << " / eval " << s.frames.size(0) - s.train_end;
        o << "\n";
    }
    return o.str();
}

torch::Tensor VideoDataset::batch(std::mt19937_64& rng, int64_t n, int64_t frames, int64_t height,
                                  int64_t width, Split split) const {
    // Weights: training frames of each video; stills together count as a quarter of the videos.
    std::vector<double> weights;
    double video_total = 0;
    for (const auto& s : m_sources) {
        const double w = s.still ? 0.0
                                 : double(split == Split::Train ? s.train_end
                                                                : s.frames.size(0) - s.train_end);
        weights.push_back(w);
        video_total += w;
    }
    const int64_t n_stills = split == Split::Train ? stills() : 0;
    if (n_stills > 0) {
        const double each = video_total > 0 ? video_total / 3.0 / double(n_stills) : 1.0;
        for (size_t i = 0; i < m_sources.size(); ++i)
            if (m_sources[i].still) weights[i] = each;
    }
    LIPAR_CHECK(std::any_of(weights.begin(), weights.end(), [](double w) { return w > 0; }),
                StatusCode::InvalidArgument, "the dataset has no ",
                split == Split::Train ? "training" : "evaluation", " frames");
    std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
    std::vector<torch::Tensor> clips;
    for (int64_t i = 0; i < n; ++i) {
        const Source& s = m_sources[pick(rng)];
        clips.push_back(s.still ? sample_still(rng, s, frames, height, width)
                                : sample_video(rng, s, frames, height, width, split));
    }
    return torch::stack(clips);
}

torch::Tensor VideoDataset::sample_video(std::mt19937_64& rng, const Source& s, int64_t frames,
                                         int64_t h, int64_t w, Split split) const {
    const int64_t begin = split == Split::Train ? 0 : s.train_end;
    const int64_t end = split == Split::Train ? s.train_end : s.frames.size(0);
    const int64_t len = end - begin;
    const int64_t stride = (split == Split::Train && len >= frames * 2 && uniform(rng, 0, 1) < 0.3) ? 2 : 1;
    const int64_t span = frames * stride;
    const int64_t start = begin + (len > span ? uniform_int(rng, 0, len - span) : 0);
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < frames; ++i) idx.push_back(std::min(start + i * stride, end - 1));
    auto index = torch::tensor(idx, torch::TensorOptions(torch::kInt64)).to(m_device);
    auto x = s.frames.index_select(0, index).to(torch::kFloat32).div_(255.0);
    const int64_t fh = x.size(2), fw = x.size(3);
    const double k_max = std::min(double(fh) / double(h), double(fw) / double(w));
    const double k = split == Split::Train ? (k_max > 1.0 ? uniform(rng, 1.0, std::min(k_max, 1.6)) : k_max)
                                           : std::min(1.0, k_max);
    const int64_t ch = std::min<int64_t>(fh, std::lround(h * k));
    const int64_t cw = std::min<int64_t>(fw, std::lround(w * k));
    const int64_t y0 = uniform_int(rng, 0, fh - ch), x0 = uniform_int(rng, 0, fw - cw);
    x = x.narrow(2, y0, ch).narrow(3, x0, cw);
    if (ch != h || cw != w) {
        x = F::interpolate(x, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{h, w})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
    }
    if (split == Split::Train) {
        if (uniform(rng, 0, 1) < 0.5) x = x.flip(3);
        if (uniform(rng, 0, 1) < 0.2) x = x.flip(0);
    }
    return x.clamp(0.0, 1.0).contiguous();
}

torch::Tensor VideoDataset::sample_still(std::mt19937_64& rng, const Source& s, int64_t frames,
                                         int64_t h, int64_t w) const {
    auto img = s.frames[0].to(torch::kFloat32).div(255.0).unsqueeze(0);  // [1, 3, H0, W0]
    const double fh = double(img.size(2)), fw = double(img.size(3));
    const double k_max = std::min(fh / double(h), fw / double(w));
    const double k = k_max > 1.0 ? uniform(rng, 1.0, std::min(k_max, 2.5)) * 0.95 : k_max;
    // Window size in pixels, its centre and its motion per frame.
    const double win_w = w * k, win_h = h * k;
    double cx = uniform(rng, win_w / 2, std::max(win_w / 2, fw - win_w / 2));
    double cy = uniform(rng, win_h / 2, std::max(win_h / 2, fh - win_h / 2));
    const double speed = uniform(rng, 0.0, 4.0) * k;
    const double dir = uniform(rng, 0.0, 2.0 * M_PI);
    const double vx = speed * std::cos(dir), vy = speed * std::sin(dir) * 0.5;
    const double zoom = uniform(rng, -0.012, 0.012);
    const double spin = uniform(rng, -0.002, 0.002);
    const double shake = uniform(rng, 0.0, 1.0) < 0.3 ? uniform(rng, 0.3, 1.5) * k : 0.0;
    const double phase = uniform(rng, 0.0, 6.28);
    std::vector<float> thetas;
    for (int64_t t = 0; t < frames; ++t) {
        const double scale = std::max(0.3, 1.0 + zoom * double(t));
        const double px = cx + vx * t + shake * std::sin(1.7 * t + phase);
        const double py = cy + vy * t + shake * std::cos(2.3 * t + phase);
        const double a = spin * double(t);
        const double sx = win_w * scale / fw, sy = win_h * scale / fh;
        // Output pixel (u, v) in [-1, 1] samples the image at R(a) * diag(sx, sy) * (u, v) + c.
        thetas.insert(thetas.end(), {float(sx * std::cos(a)), float(-sy * std::sin(a)),
                                     float(2.0 * px / fw - 1.0), float(sx * std::sin(a)),
                                     float(sy * std::cos(a)), float(2.0 * py / fh - 1.0)});
    }
    auto theta = torch::from_blob(thetas.data(), {frames, 2, 3}, torch::kFloat32).clone().to(m_device);
    auto grid = F::affine_grid(theta, {frames, 3, h, w}, false);
    auto x = F::grid_sample(img.expand({frames, 3, img.size(2), img.size(3)}), grid,
                            F::GridSampleFuncOptions()
                                .mode(torch::kBilinear)
                                .padding_mode(torch::kReflection)
                                .align_corners(false));
    if (uniform(rng, 0, 1) < 0.5) x = x.flip(3);
    return x.clamp(0.0, 1.0).contiguous();
}

}  // namespace lipar::train
