#include "pipeline/block_planner.h"

#include "lipar/shape_bucket.h"

namespace lipar::pipeline {

accel::PrunePlan BlockPlanner::plan(const torch::Tensor& z, accel::PruneMode mode,
                                    int64_t start_frame, int64_t grid_h, int64_t grid_w,
                                    const torch::Tensor& keep_given) {
    const int64_t f = z.size(1);
    if (mode == accel::PruneMode::Off) {
        return accel::PrunePlan::dense(f, grid_h, grid_w, start_frame, m_head_dim, m_device);
    }
    torch::Tensor keep = keep_given;
    accel::BlockMotion motion;
    m_detected = !keep.defined();
    if (m_detected) {
        const auto detection = m_detector.detect(z);
        motion = detection.motion;
        const int64_t bucket = m_kept_bucket >= 0 ? m_kept_bucket : accel::default_kept_bucket(m_device);
        const auto& c = m_detector.config();
        keep = bucket > 1 ? accel::round_kept_to_bucket(detection.keep,
                                                         accel::keep_score(detection, c.tau1, c.tau2), bucket)
                          : detection.keep;
    }
    return accel::PrunePlan::build(keep.to(m_device, torch::kBool), start_frame, m_head_dim, m_device,
                                   &motion);
}

}  // namespace lipar::pipeline
