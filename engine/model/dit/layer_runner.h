#pragma once
// How WanDitImpl::forward_tokens runs its transformer blocks: in order on the calling thread
// (no runner set), or split into pipeline stages on workers (parallel/stage_pipeline.h). The
// runner calls `layer(i, x)` for every block i = 0 .. num_layers - 1 in order, each on the output
// of the one before, and returns the last block's output; where each call runs is its business.

#include <torch/torch.h>

#include <functional>

namespace lipar::model {

class LayerRunner {
public:
    using Layer = std::function<torch::Tensor(int64_t index, const torch::Tensor& x)>;
    virtual ~LayerRunner() = default;
    virtual torch::Tensor run(const torch::Tensor& x, int64_t num_layers, const Layer& layer) = 0;
};

}  // namespace lipar::model
