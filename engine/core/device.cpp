#include "core/device.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace lipar {

namespace {
std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}
}  // namespace

torch::Device parse_device(const std::string& name_in) {
    const std::string name = lower(name_in);
    if (name == "cpu") return torch::kCPU;
    if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0)
                                                           : torch::Device(torch::kCPU);
    if (name.rfind("cuda", 0) == 0) {
        if (!torch::cuda::is_available()) {
            fail(StatusCode::DeviceError, "device '", name_in,
                 "' requested but this build or machine has no CUDA device; use --device cpu");
        }
        int index = 0;
        if (name.size() > 4) {
            LIPAR_CHECK(name[4] == ':' && name.size() > 5, StatusCode::InvalidArgument,
                        "invalid device '", name_in, "' (expected cpu, cuda, cuda:N or auto)");
            try {
                index = std::stoi(name.substr(5));
            } catch (...) {
                fail(StatusCode::InvalidArgument, "invalid device index in '", name_in, "'");
            }
        }
        const int count = static_cast<int>(torch::cuda::device_count());
        LIPAR_CHECK(index >= 0 && index < count, StatusCode::DeviceError, "device '", name_in,
                    "' does not exist (", count, " CUDA device(s))");
        return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    fail(StatusCode::InvalidArgument, "invalid device '", name_in,
         "' (expected cpu, cuda, cuda:N or auto)");
}

torch::Dtype parse_dtype(const std::string& name_in) {
    const std::string name = lower(name_in);
    if (name == "f32" || name == "fp32" || name == "float32" || name == "float") return torch::kFloat32;
    if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
    if (name == "f16" || name == "fp16" || name == "float16" || name == "half") return torch::kFloat16;
    fail(StatusCode::InvalidArgument, "invalid dtype '", name_in, "' (expected f32, bf16 or f16)");
}

torch::Dtype parse_dtype(const std::string& name, const torch::Device& device) {
    if (lower(name) == "auto") return device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
    return parse_dtype(name);
}

std::string dtype_name(torch::Dtype dtype) {
    switch (dtype) {
        case torch::kFloat32: return "f32";
        case torch::kFloat64: return "f64";
        case torch::kBFloat16: return "bf16";
        case torch::kFloat16: return "f16";
        case torch::kInt64: return "i64";
        case torch::kInt32: return "i32";
        case torch::kInt16: return "i16";
        case torch::kInt8: return "i8";
        case torch::kUInt8: return "u8";
        case torch::kBool: return "bool";
        default: return "unknown";
    }
}

std::string shape_string(c10::IntArrayRef shape) {
    std::ostringstream os;
    os << '[';
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) os << ", ";
        os << shape[i];
    }
    os << ']';
    return os.str();
}

double relative_error(const torch::Tensor& value, const torch::Tensor& reference) {
    auto v = value.to(torch::kCPU, torch::kFloat64);
    auto r = reference.to(torch::kCPU, torch::kFloat64);
    const double denom = r.norm().item<double>();
    const double num = (v - r).norm().item<double>();
    if (denom == 0.0) return num;
    return num / denom;
}

void use_all_cpu_threads() {
    // An explicit OMP_NUM_THREADS is the user's choice (e.g. one core per pipeline stage).
    const char* omp = std::getenv("OMP_NUM_THREADS");
    if (omp != nullptr && std::atoi(omp) > 0) return;
    const unsigned n = std::max(1u, std::thread::hardware_concurrency());
    if (at::get_num_threads() < static_cast<int>(n)) at::set_num_threads(static_cast<int>(n));
}

}  // namespace lipar
