#pragma once
// Pairs the editor's decoded frames with what they stand for: the source frame (by index; the
// autoencoder's decoder withholds its first frames and pads the last block), the keep mask of its
// latent frame, and in compare mode the baseline's decoded frame of the same source frame (the
// baseline's decoder stream may have started mid-stream). Engine thread only.

#include <torch/torch.h>

#include <deque>
#include <vector>

#include "lipar/prune_plan.h"
#include "pipeline/edited_frame.h"

namespace lipar::pipeline {

class OutputAssembler {
public:
    // A source frame at model resolution enters the stream; returns its index.
    int64_t add_input(Frame fitted);
    int64_t inputs() const { return m_next_input; }
    // The keep masks of a block's latent frames (and their local motion fields), in stream order.
    void add_masks(const accel::PrunePlan& plan);
    // Compare mode starts with the block whose first latent frame is `latent`: the baseline's
    // decoder stream begins there.
    void start_baseline(int64_t latent);
    // The decoded frames [n, 3, H, W] of a block (and the baseline's, or undefined) become
    // outputs. trim: frames the decoder withholds at the start; ratio: source frames per latent
    // frame. Masks are attached when with_masks. Padding frames past the last input are dropped.
    std::vector<EditedFrame> assemble(const torch::Tensor& frames, const torch::Tensor& base_frames,
                                      int64_t trim, int64_t ratio, EditMode mode, bool with_masks,
                                      bool final_block);
    void reset();

private:
    std::deque<Frame> m_inputs;  // source frames awaiting their outputs
    int64_t m_next_input = 0;    // index of the next source frame
    int64_t m_next_output = 0;
    std::vector<std::vector<uint8_t>> m_masks;  // per latent frame of the stream
    std::vector<std::vector<int8_t>> m_fields;  // the same frames' motion fields (may be empty)
    int64_t m_mask_base = 0;                    // latent index of m_masks[0]
    int m_mask_w = 0, m_mask_h = 0;
    // The baseline's decoded frame k (after its own trim) stands for source frame
    // m_base_start_latent * ratio + trim + m_base_out + k.
    int64_t m_base_start_latent = 0;
    int64_t m_base_out = 0;
};

}  // namespace lipar::pipeline
