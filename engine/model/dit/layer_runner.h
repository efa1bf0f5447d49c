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
    // A pass whose output nobody reads (a committing pass, for its K/V): it may return before the
    // last block has run. `layer` is held until then, so it must own what it uses. Later calls
    // queue behind it in every stage (block i of the next pass runs after block i of this one);
    // its failure is thrown by the next run() or drain(). Default: runs it to the end here.
    virtual void run_detached(const torch::Tensor& x, int64_t num_layers, Layer layer) { run(x, num_layers, layer); }
    // Waits for a detached pass still in flight (throws its failure). Call before touching the
    // state of every block at once (a KV cache reset, ...).
    virtual void drain() {}
};

}  // namespace lipar::model
