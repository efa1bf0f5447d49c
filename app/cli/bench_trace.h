#pragma once
// `lipar bench --trace DIR`: records one extra run of each mode with LibTorch's profiler (Kineto:
// host operators and, on CUDA, every kernel through CUPTI), saves it as a Chrome trace where this LibTorch
// has Kineto (DIR/<mode>.json, open in Perfetto or chrome://tracing) and prints where the time went: GPU busy
// time against wall time (the rest is the GPU waiting for the host), kernels per block, and the
// kernel time by kind (matrix products, attention, elementwise, norms, indexing, copies).
#include <torch/torch.h>

#include <functional>
#include <string>

namespace lipar::cli {

struct TraceSummary {
    double wall_ms = 0;
    double gpu_busy_ms = 0;       // union of kernel and device copy intervals
    int64_t kernels = 0;
    int64_t host_ops = 0;         // ATen operators called on the host
    std::string by_kind;          // one line per kind, biggest first
    std::string top_kernels;      // the ten biggest kernels by total time (on the CPU: host
                                  // operators, inclusive of the operators they call)
    std::string saved;            // the trace file written, or "" when saving failed:
    std::string save_error;       // why (a LibTorch built without Kineto)
};

// Runs `work` under the profiler, saves the trace to `path` and summarises it. Throws
// lipar::Error when this LibTorch has no Kineto profiler.
TraceSummary trace_run(const std::function<void()>& work, const std::string& path,
                       const torch::Device& device);

}  // namespace lipar::cli
