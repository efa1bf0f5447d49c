#include "pipeline/output_assembler.h"

#include <algorithm>

#include "pipeline/frame_tensor.h"

namespace lipar::pipeline {

int64_t OutputAssembler::add_input(Frame fitted) {
    fitted.index = m_next_input++;
    m_inputs.push_back(std::move(fitted));
    return m_inputs.back().index;
}

void OutputAssembler::add_masks(const accel::PrunePlan& plan) {
    const int64_t gh = plan.grid_h, gw = plan.grid_w;
    auto keep = plan.keep.to(torch::kCPU).to(torch::kUInt8).contiguous();
    for (int64_t i = 0; i < plan.frames; ++i) {
        const uint8_t* p = keep.data_ptr<uint8_t>() + i * gh * gw;
        m_masks.emplace_back(p, p + gh * gw);
        std::vector<int8_t> field;
        if (plan.motion.local() && !accel::is_identity(plan.motion.source[static_cast<size_t>(i)])) {
            field.reserve(static_cast<size_t>(2 * gh * gw));
            for (const auto& d : accel::map_displacements(plan.motion.source[static_cast<size_t>(i)], gw)) {
                field.push_back(static_cast<int8_t>(std::clamp<int64_t>(d.dx, -127, 127)));
                field.push_back(static_cast<int8_t>(std::clamp<int64_t>(d.dy, -127, 127)));
            }
        }
        m_fields.push_back(std::move(field));
    }
    m_mask_w = static_cast<int>(gw);
    m_mask_h = static_cast<int>(gh);
}

void OutputAssembler::start_baseline(int64_t latent) {
    m_base_start_latent = latent;
    m_base_out = 0;
}

std::vector<EditedFrame> OutputAssembler::assemble(const torch::Tensor& frames,
                                                   const torch::Tensor& base_frames, int64_t trim,
                                                   int64_t ratio, EditMode mode, bool with_masks,
                                                   bool final_block) {
    std::vector<EditedFrame> out;
    for (int64_t i = 0; i < frames.size(0); ++i) {
        const int64_t source = m_next_output + trim;
        ++m_next_output;
        if (source >= m_next_input) break;  // padding frames of the final block
        while (!m_inputs.empty() && m_inputs.front().index < source) m_inputs.pop_front();
        EditedFrame e;
        e.index = source;
        if (!m_inputs.empty() && m_inputs.front().index == source) e.input = m_inputs.front();
        e.output = tensor_to_frame(frames[i]);
        e.output.index = source;
        const int64_t base_i = source - (m_base_start_latent * ratio + trim + m_base_out);
        if (base_frames.defined() && base_i >= 0 && base_i < base_frames.size(0)) {
            e.baseline = tensor_to_frame(base_frames[base_i]);
            e.baseline.index = source;
        }
        const int64_t latent = source / ratio - m_mask_base;
        if (with_masks && latent >= 0 && latent < static_cast<int64_t>(m_masks.size())) {
            e.keep_mask = m_masks[static_cast<size_t>(latent)];
            e.mask_width = m_mask_w;
            e.mask_height = m_mask_h;
            e.motion_field = m_fields[static_cast<size_t>(latent)];
        }
        e.mode = mode;
        out.push_back(std::move(e));
    }
    // Masks of latent frames no later output can need.
    const int64_t needed = (m_next_output + trim) / ratio - m_mask_base;
    if (needed > 0 && !final_block) {
        const auto drop = std::min<int64_t>(needed, static_cast<int64_t>(m_masks.size()));
        m_masks.erase(m_masks.begin(), m_masks.begin() + drop);
        m_fields.erase(m_fields.begin(), m_fields.begin() + drop);
        m_mask_base += drop;
    }
    if (base_frames.defined()) m_base_out += base_frames.size(0);
    return out;
}

void OutputAssembler::reset() {
    m_inputs.clear();
    m_next_input = 0;
    m_next_output = 0;
    m_masks.clear();
    m_fields.clear();
    m_mask_base = 0;
    m_base_start_latent = 0;
    m_base_out = 0;
}

}  // namespace lipar::pipeline
