#pragma once
// Device and dtype selection from user-facing names, and small tensor-description helpers.

#include <torch/torch.h>

#include <string>

namespace lipar {

enum class DeviceKind { Invalid = 0, Cpu, Cuda, Auto };

// "cpu", "cuda", "cuda:1", "auto" (CUDA when available). Throws Error(InvalidArgument) otherwise,
// and Error(DeviceError) for "cuda" on a machine without CUDA.
torch::Device parse_device(const std::string& name);

// "f32"/"fp32"/"float32", "bf16"/"bfloat16", "f16"/"fp16"/"float16".
torch::Dtype parse_dtype(const std::string& name);
std::string dtype_name(torch::Dtype dtype);
// parse_dtype, plus "auto": bf16 on CUDA, f32 on the CPU.
torch::Dtype parse_dtype(const std::string& name, const torch::Device& device);  // "f32", "bf16", "f16", "i64", ...

// "[1, 16, 3, 60, 104]"
std::string shape_string(c10::IntArrayRef shape);

// Tolerances used when comparing a result in this dtype with an fp32/fp64 reference.
double relative_error(const torch::Tensor& value, const torch::Tensor& reference);

// Use every core for intra-op parallelism (LibTorch on Debian starts with one thread), unless
// OMP_NUM_THREADS says otherwise.
void use_all_cpu_threads();

}  // namespace lipar
