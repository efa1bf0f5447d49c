#include "bench_trace.h"

#include <torch/csrc/autograd/profiler_kineto.h>
#include <torch/version.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/timer.h"

namespace lipar::cli {

namespace {

namespace prof = torch::autograd::profiler;
namespace impl = torch::profiler::impl;

uint64_t start_ns(const prof::KinetoEvent& e) {
#if TORCH_VERSION_MAJOR >= 2
    return e.startNs();
#else
    return e.startUs() * 1000;
#endif
}

uint64_t duration_ns(const prof::KinetoEvent& e) {
#if TORCH_VERSION_MAJOR >= 2
    return e.durationNs();
#else
    return e.durationUs() * 1000;
#endif
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The kind of a CUDA kernel from its (mangled or plain) name.
std::string kernel_kind(const std::string& name) {
    const auto n = lower(name);
    auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
    if (has("memcpy") || has("memset")) return "copies (memcpy/memset)";
    if (has("flash") || has("fmha") || has("attention") || has("sdpa") || has("cudnn_generated"))
        return "attention";
    if (has("gemm") || has("nvjet") || has("cutlass") || has("xmma") || has("matmul") || has("sm90_"))
        return "matrix products";
    if (has("layer_norm") || has("rms") || has("norm")) return "norms";
    if (has("index") || has("gather") || has("scatter") || has("where") || has("masked"))
        return "indexing / gather / scatter";
    if (has("reduce") || has("softmax")) return "reductions";
    if (has("cat") || has("copy") || has("elementwise") || has("vectorized") || has("unrolled"))
        return "elementwise / casts / copies";
    return "other";
}

}  // namespace

TraceSummary trace_run(const std::function<void()>& work, const std::string& path,
                       const torch::Device& device) {
    std::set<impl::ActivityType> activities{impl::ActivityType::CPU};
    if (device.is_cuda()) activities.insert(impl::ActivityType::CUDA);
    const impl::ProfilerConfig config(impl::ProfilerState::KINETO);
    try {
        prof::prepareProfiler(config, activities);
        prof::enableProfiler(config, activities);
    } catch (const std::exception& e) {
        throw Error(StatusCode::Unsupported,
                    std::string("--trace: this LibTorch cannot profile (") + e.what() + ")");
    }
    Timer t;
    std::unique_ptr<prof::ProfilerResult> result;
    try {
        work();
        synchronize(device);
    } catch (...) {
        prof::disableProfiler();
        throw;
    }
    TraceSummary s;
    s.wall_ms = t.elapsed_ms();
    result = prof::disableProfiler();
    try {
        result->save(path);
        s.saved = path;
    } catch (const c10::Error& e) {
        s.save_error = e.what_without_backtrace();  // Debian's CPU LibTorch: no Kineto
    }

    struct Interval { uint64_t a, b; };
    std::vector<Interval> busy;
    std::map<std::string, double> kind_ms, name_ms, host_ms;
    std::map<std::string, int64_t> name_count, host_count;
    for (const auto& e : result->events()) {
        if (e.deviceType() == c10::DeviceType::CUDA) {
            const uint64_t a = start_ns(e), d = duration_ns(e);
            busy.push_back({a, a + d});
            const double ms = double(d) / 1e6;
            kind_ms[kernel_kind(e.name())] += ms;
            name_ms[e.name()] += ms;
            ++name_count[e.name()];
            ++s.kernels;
        } else {
            ++s.host_ops;
            host_ms[e.name()] += double(duration_ns(e)) / 1e6;
            ++host_count[e.name()];
        }
    }
    std::sort(busy.begin(), busy.end(), [](const Interval& x, const Interval& y) { return x.a < y.a; });
    uint64_t end = 0, total = 0;
    for (const auto& i : busy) {
        const uint64_t a = std::max(i.a, end);
        if (i.b > a) {
            total += i.b - a;
            end = i.b;
        }
    }
    s.gpu_busy_ms = double(total) / 1e6;
    auto sorted = [](const std::map<std::string, double>& m) {
        std::vector<std::pair<std::string, double>> v(m.begin(), m.end());
        std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
        return v;
    };
    char line[512];
    for (const auto& [kind, ms] : sorted(kind_ms)) {
        std::snprintf(line, sizeof line, "    %-30s %9.1f ms\n", kind.c_str(), ms);
        s.by_kind += line;
    }
    // Without a GPU: the host operators instead (inclusive times: nested operators overlap).
    const bool kernels = !name_ms.empty();
    auto& counts = kernels ? name_count : host_count;
    int shown = 0;
    for (const auto& [name, ms] : sorted(kernels ? name_ms : host_ms)) {
        if (shown++ == 10) break;
        std::snprintf(line, sizeof line, "    %9.1f ms %7lld x  %.110s\n", ms,
                      static_cast<long long>(counts[name]), name.c_str());
        s.top_kernels += line;
    }
    return s;
}

}  // namespace lipar::cli
