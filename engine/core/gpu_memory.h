#pragma once
// GPU memory statistics and cache release (no-ops on CPU-only builds).

#include <torch/torch.h>

#include <cstdint>

namespace lipar {

struct GpuMemoryStats {
    int64_t allocated_bytes = 0;       // currently allocated by tensors
    int64_t peak_allocated_bytes = 0;  // since the last reset_peak_gpu_memory
    int64_t reserved_bytes = 0;        // held by the caching allocator
};

GpuMemoryStats gpu_memory_stats(const torch::Device& device);
void reset_peak_gpu_memory(const torch::Device& device);
// Returns cached, unused blocks to the driver (after an out-of-memory, before retrying).
void release_cached_gpu_memory();
// "NVIDIA H100 80GB HBM3" or "cpu".
std::string device_description(const torch::Device& device);

}  // namespace lipar
