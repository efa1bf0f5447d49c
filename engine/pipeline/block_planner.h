#pragma once
// What the DiT computes for each block: LIPAR's duplicate detection on the block's clean source
// latents, the kept count rounded up to a shape bucket (lipar/shape_bucket.h), and the prune plan
// built from that mask (lipar/prune_plan.h). Keeps the detector's state between blocks; the
// editor commits each block's mask once the block is done. Engine thread only.

#include <torch/torch.h>

#include "lipar/detector.h"
#include "lipar/prune_plan.h"

namespace lipar::pipeline {

class BlockPlanner {
public:
    // kept_bucket: -1 = accel::default_kept_bucket(device), 0 or 1 = exact kept counts.
    BlockPlanner(int64_t head_dim, const torch::Device& device, int64_t kept_bucket)
        : m_head_dim(head_dim), m_device(device), m_kept_bucket(kept_bucket) {}

    void set_config(const accel::DetectorConfig& config) { m_detector.set_config(config); }
    const accel::DetectorConfig& config() const { return m_detector.config(); }

    // z [C, f, h, w] clean latents of the block whose first latent frame is start_frame; a token
    // grid of grid_h x grid_w. Off: every token. keep_given: a parity run's mask [f, gh, gw]
    // instead of detection (undefined: detect).
    accel::PrunePlan plan(const torch::Tensor& z, accel::PruneMode mode, int64_t start_frame,
                          int64_t grid_h, int64_t grid_w, const torch::Tensor& keep_given = {});
    // The block's mask becomes the detector's reference for the next block (a block planned
    // from a given mask ran no detection: nothing to commit).
    void commit(const accel::PrunePlan& plan) {
        if (m_detected) m_detector.commit_block(plan.keep);
        m_detected = false;
    }
    void reset() {
        m_detector.reset();
        m_detected = false;
    }

private:
    accel::DuplicateDetector m_detector;
    int64_t m_head_dim;
    torch::Device m_device;
    int64_t m_kept_bucket;
    bool m_detected = false;  // the last plan came from detection and awaits commit()
};

}  // namespace lipar::pipeline
