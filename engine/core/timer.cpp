#include "core/timer.h"

#include <torch/cuda.h>

namespace lipar {

void synchronize(const torch::Device& device) {
    if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
}

}  // namespace lipar
