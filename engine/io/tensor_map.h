#pragma once
// Named tensors as read from or written to a checkpoint. std::map keeps names sorted, which makes
// file output and error listings deterministic.

#include <torch/torch.h>

#include <map>
#include <string>

namespace lipar::io {

using TensorMap = std::map<std::string, torch::Tensor>;

}  // namespace lipar::io
