#pragma once
// Building blocks of LIPAR duplicate detection; docs/LIPAR_DETECTION.md states the exact algorithm.
//
// Every function is a pure tensor op on its input's device: no host synchronisation, no .item().
// Token grids are [F, H, W] with time first. "history" holds the grid frames that come just before
// x[0] in the stream (oldest first); it may be undefined or have 0 frames (stream start), and only
// its last frames are used. Where a causal filter reaches before the first frame there is, the
// first available frame is replicated (distance filters) or the outside is empty (dilation).
//
// Floating-point sums run in a fixed order of element-wise ops (no reductions, no convolutions),
// so CPU and CUDA give bit-identical distances and hence identical masks.

#include <torch/torch.h>

#include <cstdint>

namespace lipar::accel {

// [C, F, H, W] latents (H, W even) -> [F, H/2, W/2, C*4] float32 values of the 1x2x2 patches,
// in (channel, row, column) order within a token. Never a view of z.
torch::Tensor patchify_tokens(const torch::Tensor& z);

// The kept band [lo, hi) of n sorted values: lo = floor(low * n), hi = floor(high * n), as in the
// authors' code (n = 64: [12, 51), 39 values). Throws InvalidArgument when the band is empty.
struct TrimBand {
    int64_t lo = 0;
    int64_t hi = 0;
};
TrimBand trim_band(int64_t n, double trim_low, double trim_high);

// Mean of the trimmed band of |a - b| along the last dim (a and b broadcast against each other):
// sort the absolute differences, keep [lo, hi), average. Returns float32 with the last dim removed.
// The band sum runs in a fixed pairwise order and is scaled by float(1 / (hi - lo)).
torch::Tensor trimmed_mean_abs_diff(const torch::Tensor& a,
                                    const torch::Tensor& b,
                                    double trim_low,
                                    double trim_high);

// Sum of the last dim in a fixed pairwise order (element-wise adds only).
torch::Tensor fixed_order_sum_last_dim(const torch::Tensor& x);

// out[f, y, x] = median of the 27 values at frames f-2..f, rows y-1..y+1, cols x-1..x+1.
// Spatial border: replicate. Before the first available frame: replicate it. Float input.
torch::Tensor causal_median3d(const torch::Tensor& x, const torch::Tensor& history);

// The authors' streaming code's median: frames f-1..f+1 (centred), rows and cols as above; the
// first frame is replicated before x[0] and the last after x[F-1]. Reads no history.
// With history (frames before x[0], as for causal_median3d): x[0] reads the last history frame
// instead of replicating itself.
torch::Tensor centred_median3d(const torch::Tensor& x, const torch::Tensor& history = {});
torch::Tensor centred_median3d_mask(const torch::Tensor& mask, const torch::Tensor& history = {});

// The authors' "causal" 3x3x3 Gaussian: exp(-(t^2 + y^2 + x^2) / (2 sigma^2)) on {-1,0,1}^3 with
// the future slice (t = +1) zeroed, normalised to sum 1 over the 18 remaining taps.
// Returns [2, 3, 3]: [0] weighs frame f-1, [1] frame f.
torch::Tensor causal_gaussian_kernel(double sigma, const torch::TensorOptions& options);

// out[f] = sum over frames f-1, f and the 3x3 neighbourhood of kernel * x. Spatial border:
// replicate; before the first available frame: replicate it. Float input. The kernel overload
// takes causal_gaussian_kernel() already on x's device; building it copies 18 weights from the
// host, which on CUDA waits for the stream, so callers on the GPU path cache it.
torch::Tensor causal_gaussian3d(const torch::Tensor& x,
                                const torch::Tensor& history,
                                const torch::Tensor& kernel);
torch::Tensor causal_gaussian3d(const torch::Tensor& x, const torch::Tensor& history, double sigma);

// Majority (= median) of the 27 mask values at frames f-2..f and the 3x3 neighbourhood, with the
// same padding as causal_median3d. Bool in, bool out.
torch::Tensor median3d_mask(const torch::Tensor& mask, const torch::Tensor& history);

// Per-frame binary erosion / dilation with a 3x3 square; pixels outside the frame are ignored
// (OpenCV's default border for morphology). open = dilate(erode), close = erode(dilate).
torch::Tensor erode2d(const torch::Tensor& mask);
torch::Tensor dilate2d(const torch::Tensor& mask);
torch::Tensor open2d(const torch::Tensor& mask);
torch::Tensor close2d(const torch::Tensor& mask);

// Binary dilation with a (depth, height, width) box whose future half is removed: out[f] is true
// where any of frames f - depth/2 .. f is true within the height x width window. (3, 5, 5): a kept
// token marks a 5x5 square in its own frame and in the next one. Outside the grid and before the
// first available frame is false. depth, height, width must be odd.
torch::Tensor causal_dilate(const torch::Tensor& mask,
                            const torch::Tensor& history,
                            int64_t depth = 3,
                            int64_t height = 5,
                            int64_t width = 5);

// The authors' code's dilation (scipy reflects the structure whose future slice was zeroed): out[f]
// is true where any of frames f .. f + depth/2 is true within the window: a kept token marks its
// own frame and the previous one. After the last frame is false. Reads no history.
torch::Tensor look_ahead_dilate(const torch::Tensor& mask, int64_t depth = 3, int64_t height = 5,
                                int64_t width = 5);

// Per frame that keeps anything: grows the kept set by 3x3 dilations (zero border) until at least
// min_keep_ratio of the frame is kept, computed without a loop via the Chebyshev distance to the
// nearest kept token. Frames that keep nothing stay empty. min_keep_ratio in [0, 1]; 0 = no-op.
torch::Tensor enforce_min_keep_ratio(const torch::Tensor& mask, double min_keep_ratio);

// Per token, the Chebyshev distance (in tokens) to the nearest true token of the same frame, as
// float; a frame without any true token gets H + W everywhere.
torch::Tensor chebyshev_distance(const torch::Tensor& mask);

// Long-term reference refresh: per location, the token values of the last frame of the block where
// keep is true; where no frame kept it, the old reference (or, without one, frame 0's values).
// reference [H, W, N] or undefined, tokens [F, H, W, N], keep [F, H, W] bool.
torch::Tensor refresh_reference(const torch::Tensor& reference,
                                const torch::Tensor& tokens,
                                const torch::Tensor& keep);

// The last n frames of cat(history, x) along dim 0 (fewer when there are fewer).
torch::Tensor last_frames(const torch::Tensor& history, const torch::Tensor& x, int64_t n);

}  // namespace lipar::accel
