#pragma once
// LIPAR duplicate-token detection: which 1x2x2 latent patches of a block must be recomputed.
// The algorithm, its padding and causality conventions and how it differs from the authors' code
// are in docs/LIPAR_DETECTION.md.
//
// Threading: a DuplicateDetector belongs to one stream and is used by one thread at a time (the
// engine thread); none of its methods may run concurrently. Free functions are thread-safe.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "lipar/motion.h"

namespace lipar::accel {

// Which mask refreshes the long-term reference at commit_block().
enum class ReferenceRefresh {
    Invalid = 0,
    KeptMask,       // the mask passed to commit_block(): what was actually recomputed (LIPAR.md)
    ThresholdMask,  // short | long threshold mask before clean-up, as the authors' code does
};

// Temporal filters (lipar/filters.h). AuthorsStream reproduces the authors' streaming code for
// measuring the difference: every filter restarts at each block (the block's first frame
// replicated in front), the medians are centred and the dilation spreads a kept token into the
// previous frame (both read one frame ahead, within the block only), no long-term check.
// LookAhead: the medians read one frame ahead inside the block (the block's frames arrive
// together; its last frame is replicated ahead), history carried across blocks as in Causal.
enum class FilterStyle { Causal = 0, AuthorsStream, LookAhead };

struct DetectorConfig {
    double tau1 = 0.15;                      // short-term threshold (paper 0.15, code 0.149)
    double tau2 = 0.3;                       // long-term threshold
    double trim_low = 0.2, trim_high = 0.8;  // trimmed-mean band of |a-b| over a token's values
    bool smooth = true;   // causal 3x3x3 median then causal 3x3x3 Gaussian on distances
    bool cleanup = true;  // 3x3x3 median on mask, per-frame open then close (3x3), causal dilation
    double min_keep_ratio = 0.0;  // 0 = off
    bool long_term = true;
    // Additions beyond the paper's knobs.
    double gaussian_sigma = 1.5;
    ReferenceRefresh reference_refresh = ReferenceRefresh::KeptMask;
    // Motion compensation (lipar/motion.h): compare each token with the displaced predecessor.
    MotionMode motion = MotionMode::Off;
    int64_t motion_range = 6;  // largest step searched, latent pixels per latent frame
    int64_t motion_tile = 4;   // Local: tokens per side of a tile with one motion vector
    // With motion, the temporal filters (medians, smoothing, dilation) compare each token with
    // the same content in the neighbouring frames, i.e. they run on maps moved back by each
    // frame's whole-token shift; false: at co-located positions (as without motion). Local
    // motion has no single shift per frame: its filters stay co-located.
    bool filters_follow_motion = true;
    FilterStyle filters = FilterStyle::Causal;
};

// Throws Error(InvalidArgument) naming the bad field.
void validate_config(const DetectorConfig& config);

struct DetectionResult {
    torch::Tensor keep;           // bool [F, Ht, Wt]; true = recompute, false = duplicate
    torch::Tensor distance;       // float [F, Ht, Wt]: short-term distance as thresholded
                                  // (smoothed when config.smooth); 0 at the stream's first frame
    torch::Tensor distance_long;  // float [F, Ht, Wt]: distance to the long-term reference;
                                  // 0 where there is none (first block, long_term off)
    std::vector<double> kept_ratio_per_frame;
    double kept_ratio = 1.0;
    BlockMotion motion;  // per frame; all zero with MotionMode::Off
    double detect_ms = 0;
};

class DuplicateDetector {
  public:
    explicit DuplicateDetector(DetectorConfig config = {});

    // Takes effect at the next block. Throws Error(InvalidArgument) and keeps the old config when
    // the new one is invalid.
    void set_config(const DetectorConfig& config);
    const DetectorConfig& config() const { return m_config; }

    // Processes the next block of clean source latents of the stream ([C, F, H, W], any floating
    // dtype, CPU or CUDA; results on the same device). Carries the state of the causal filters,
    // the previous latent frame and the long-term reference across calls. A change of C, H, W or
    // device starts a new stream (logged). If the previous block was never committed, it is
    // committed first with the mask detect() returned for it.
    DetectionResult detect(const torch::Tensor& z);

    // Call once the block's denoising is done, with the mask that was actually used ([F, Ht, Wt],
    // bool or 0/1): refreshes the long-term reference with the last recomputed content at each
    // location. Throws Error(InvalidArgument) without a detected block and ShapeMismatch for a
    // mask of another shape.
    void commit_block(const torch::Tensor& keep);

    // Forget the stream: seek, source change, dropped frames, resolution change. The next block's
    // first frame is fully kept.
    void reset();

    bool has_history() const;
    int64_t frames_seen() const { return m_frames_seen; }

  private:
    DetectorConfig m_config;
    // Stream state, all on m_device. Histories hold the last frames of each filter's input.
    torch::Device m_device{torch::kCPU};
    std::vector<int64_t> m_latent_shape;  // C, H, W of the stream
    torch::Tensor m_prev_tokens;          // [Ht, Wt, N] tokens of the last latent frame
    torch::Tensor m_prev_latent;          // [C, H, W] the last latent frame (motion estimation)
    Motion m_carry;  // latent-pixel offset of the last frame from the K/V reference grid (motion)
    Motion m_phase;  // offset of the last frame from the sum of the whole steps taken (motion)
    torch::Tensor m_distance_history;     // [<=2, Ht, Wt] raw short-term distances
    torch::Tensor m_median_history;       // [<=1, Ht, Wt] median-filtered distances
    torch::Tensor m_threshold_history;    // [<=2, Ht, Wt] bool short | long masks
    torch::Tensor m_cleaned_history;      // [<=1, Ht, Wt] bool masks after median, open, close
    torch::Tensor m_reference;            // [Ht, Wt, N] long-term reference (after first commit)
    torch::Tensor m_gaussian_kernel;      // cached on m_device for m_gaussian_sigma
    double m_gaussian_sigma = 0.0;
    int64_t m_frames_seen = 0;
    // The detected block awaiting commit_block().
    bool m_pending = false;
    torch::Tensor m_pending_tokens;     // [F, Ht, Wt, N]
    torch::Tensor m_pending_keep;       // [F, Ht, Wt]
    torch::Tensor m_pending_threshold;  // [F, Ht, Wt] (frame 0 of the stream counts as kept)
    ReferenceRefresh m_pending_refresh = ReferenceRefresh::KeptMask;
    BlockMotion m_pending_motion;
    Motion m_pending_offset;  // carry + every step of the block: the last frame against the grid
};

// Stateless whole-sequence version for tests and offline analysis. Computes the short-term path
// over the whole sequence at once and the mask clean-up over each block's whole prefix, with no
// carried filter state; blocks of frames_per_block frames (the last may be shorter) only set when
// the long-term reference is refreshed, each with its own final mask. Gives the same result as
// streaming the blocks through a DuplicateDetector that commits each block with its own mask.
DetectionResult detect_sequence(const torch::Tensor& z,
                                const DetectorConfig& config,
                                int64_t frames_per_block);

}  // namespace lipar::accel
