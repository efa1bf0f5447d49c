#pragma once
// Token-parallel workers (issue 16; parallel/token_group.h connects them). Every worker runs the
// same editing loop on a replica of its own (weights, KV cache, clean reference, on its own
// device), and WanDitImpl::forward_tokens computes only the worker's share of each pass's tokens:
// every layer's keys and values are gathered from all workers before the worker's KV provider
// sees them, and so is the pass's output. Each replica thus attends to, keeps and returns exactly
// what a single worker would, while each computes 1/size of the tokens.

#include <torch/torch.h>

namespace lipar::model {

class TokenGroup {
public:
    virtual ~TokenGroup() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // Every worker's `shard` [B, c, ...] (one shape on all of them) concatenated along dim 1 in
    // rank order: [B, size * c, ...]. Throws Error(DeviceError) when a worker does not take part
    // within the group's timeout.
    virtual torch::Tensor all_gather(const torch::Tensor& shard) = 0;
};

}  // namespace lipar::model
