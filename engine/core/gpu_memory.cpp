#include "core/gpu_memory.h"

#ifdef LIPAR_HAVE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

#include <ATen/Parallel.h>

namespace lipar {

GpuMemoryStats gpu_memory_stats(const torch::Device& device) {
    GpuMemoryStats s;
#ifdef LIPAR_HAVE_CUDA
    if (device.is_cuda()) {
        const int index = device.index() < 0 ? 0 : device.index();
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
        const auto agg = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
        s.allocated_bytes = stats.allocated_bytes[agg].current;
        s.peak_allocated_bytes = stats.allocated_bytes[agg].peak;
        s.reserved_bytes = stats.reserved_bytes[agg].current;
    }
#endif
    return s;
}

void reset_peak_gpu_memory(const torch::Device& device) {
#ifdef LIPAR_HAVE_CUDA
    if (device.is_cuda()) {
        c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
    }
#endif
}

void release_cached_gpu_memory() {
#ifdef LIPAR_HAVE_CUDA
    c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

std::string device_description(const torch::Device& device) {
#ifdef LIPAR_HAVE_CUDA
    if (device.is_cuda()) {
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, device.index() < 0 ? 0 : device.index()) == cudaSuccess) {
            return prop.name;
        }
        return "cuda";
    }
#endif
    // The intra-op threads LibTorch uses (use_all_cpu_threads, OMP_NUM_THREADS), not the core count.
    const int threads = at::get_num_threads();
    return "cpu (" + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
}

}  // namespace lipar
