// Stateless whole-sequence detection. Deliberately shares no state handling with
// DuplicateDetector: the short-term path is filtered over the whole sequence at once, and the mask
// clean-up of each block is recomputed from a window of threshold masks, so that tests comparing
// the two check the streaming histories.

#include <algorithm>

#include "core/error.h"
#include "core/timer.h"
#include "lipar/detection_internal.h"
#include "lipar/detector.h"
#include "lipar/filters.h"

namespace lipar::accel {
namespace {

// The clean-up at frame g reads threshold masks g-3..g: the mask median reaches 2 frames back,
// open/close are per frame, and the causal dilation reads the cleaned mask of frame g-1.
constexpr int64_t kCleanupReach = 3;

}  // namespace

DetectionResult detect_sequence(const torch::Tensor& z,
                                const DetectorConfig& config,
                                int64_t frames_per_block) {
    Timer timer;
    validate_config(config);
    LIPAR_CHECK(config.motion == MotionMode::Off, StatusCode::Unsupported,
                "detect_sequence compares co-located tokens only; stream the blocks through a "
                "DuplicateDetector for motion compensation");
    LIPAR_CHECK(config.filters == FilterStyle::Causal, StatusCode::Unsupported,
                "detect_sequence runs the causal filters only; stream the blocks through a "
                "DuplicateDetector for the look-ahead or the authors' streaming filters");
    detail::check_latents(z);
    LIPAR_CHECK(frames_per_block >= 1, StatusCode::InvalidArgument,
                "frames_per_block must be at least 1, got ", frames_per_block);

    const torch::Tensor tokens = patchify_tokens(z);
    const int64_t frames = tokens.size(0), ht = tokens.size(1), wt = tokens.size(2);
    const auto float_options = tokens.options();

    DetectionResult result;
    result.distance = torch::zeros({frames, ht, wt}, float_options);
    result.distance_long = torch::zeros({frames, ht, wt}, float_options);
    result.keep = torch::ones({frames, ht, wt}, float_options.dtype(torch::kBool));
    // Index g - 1 holds frame g (frame 0 has no short-term distance).
    torch::Tensor short_term;
    torch::Tensor thresholds =
        torch::ones({std::max<int64_t>(frames - 1, 0), ht, wt}, float_options.dtype(torch::kBool));
    if (frames > 1) {
        const torch::Tensor raw =
            trimmed_mean_abs_diff(tokens.narrow(0, 1, frames - 1), tokens.narrow(0, 0, frames - 1),
                                  config.trim_low, config.trim_high);
        const torch::Tensor smoothed =
            causal_gaussian3d(causal_median3d(raw, {}), {}, config.gaussian_sigma);
        const torch::Tensor used = config.smooth ? smoothed : raw;
        short_term = detail::exceeds(used, config.tau1);
        result.distance.narrow(0, 1, frames - 1).copy_(used);
    }

    torch::Tensor reference;
    for (int64_t start = 0; start < frames; start += frames_per_block) {
        const int64_t end = std::min(frames, start + frames_per_block);
        const int64_t first = std::max<int64_t>(start, 1);
        torch::Tensor refresh_mask =
            torch::ones({end - start, ht, wt}, float_options.dtype(torch::kBool));
        if (end > first) {
            const int64_t count = end - first;
            torch::Tensor threshold = short_term.narrow(0, first - 1, count);
            if (config.long_term && reference.defined()) {
                const torch::Tensor distance_long = trimmed_mean_abs_diff(
                    tokens.narrow(0, first, count), reference, config.trim_low, config.trim_high);
                threshold = threshold | detail::exceeds(distance_long, config.tau2);
                result.distance_long.narrow(0, first, count).copy_(distance_long);
            }
            thresholds.narrow(0, first - 1, count).copy_(threshold);
            refresh_mask.narrow(0, first - start, count).copy_(threshold);

            torch::Tensor final_mask = threshold;
            if (config.cleanup) {
                const int64_t window_start = std::max<int64_t>(1, first - kCleanupReach);
                const torch::Tensor window =
                    thresholds.narrow(0, window_start - 1, end - window_start);
                const torch::Tensor cleaned =
                    causal_dilate(close2d(open2d(median3d_mask(window, {}))), {});
                final_mask = cleaned.narrow(0, first - window_start, count);
            }
            if (config.min_keep_ratio > 0.0) {
                final_mask = enforce_min_keep_ratio(final_mask, config.min_keep_ratio);
            }
            result.keep.narrow(0, first, count).copy_(final_mask);
        }
        const torch::Tensor block_keep = result.keep.narrow(0, start, end - start);
        reference = refresh_reference(reference, tokens.narrow(0, start, end - start),
                                      config.reference_refresh == ReferenceRefresh::ThresholdMask
                                          ? refresh_mask
                                          : block_keep);
    }

    detail::fill_kept_ratios(result);
    result.detect_ms = timer.elapsed_ms();
    return result;
}

}  // namespace lipar::accel
