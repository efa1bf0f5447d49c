#include <algorithm>
#include <cctype>
#include <sstream>

#include "lipar/params.h"

namespace lipar {

const char* edit_mode_name(EditMode mode) {
    switch (mode) {
        case EditMode::Off: return "off";
        case EditMode::Naive: return "naive";
        case EditMode::Lipar: return "lipar";
        case EditMode::Compare: return "compare";
        case EditMode::Invalid: break;
    }
    return "invalid";
}

EditMode parse_edit_mode(const std::string& name) {
    if (name == "off" || name == "baseline") return EditMode::Off;
    if (name == "naive") return EditMode::Naive;
    if (name == "lipar") return EditMode::Lipar;
    if (name == "compare") return EditMode::Compare;
    return EditMode::Invalid;
}

const char* motion_compensation_name(MotionCompensation motion) {
    switch (motion) {
        case MotionCompensation::Off: return "off";
        case MotionCompensation::Global: return "global";
        case MotionCompensation::Local: return "local";
        case MotionCompensation::Invalid: break;
    }
    return "invalid";
}

MotionCompensation parse_motion_compensation(const std::string& name) {
    if (name == "off" || name == "none") return MotionCompensation::Off;
    if (name == "global") return MotionCompensation::Global;
    if (name == "local") return MotionCompensation::Local;
    return MotionCompensation::Invalid;
}

const char* detection_filters_name(DetectionFilters filters) {
    switch (filters) {
        case DetectionFilters::Causal: return "causal";
        case DetectionFilters::AuthorsStream: return "authors-stream";
        case DetectionFilters::LookAhead: return "lookahead";
        case DetectionFilters::Invalid: break;
    }
    return "invalid";
}

DetectionFilters parse_detection_filters(const std::string& name) {
    if (name == "causal") return DetectionFilters::Causal;
    if (name == "authors-stream") return DetectionFilters::AuthorsStream;
    if (name == "lookahead") return DetectionFilters::LookAhead;
    return DetectionFilters::Invalid;
}

std::string EditParams::validate() const {
    std::ostringstream os;
    if (mode == EditMode::Invalid) return "mode must be off, naive, lipar or compare";
    if (motion == MotionCompensation::Invalid) return "motion must be off, global or local";
    if (detection == DetectionFilters::Invalid)
        return "detection filters must be lookahead, causal or authors-stream";
    if (!(tau1 >= -1.0 && tau1 <= 100.0)) os << "tau1 " << tau1 << " is out of range [-1, 100]";
    else if (!(tau2 >= -1.0 && tau2 <= 100.0)) os << "tau2 " << tau2 << " is out of range [-1, 100]";
    else if (!(strength >= 0.0 && strength <= 1.0))
        os << "strength " << strength << " must be in [0, 1] (0 = the pack's)";
    else if (steps < 0 || steps > 50) os << "steps " << steps << " must be in 0..50 (0 = the pack's)";
    else if (!(min_keep_ratio >= 0.0 && min_keep_ratio <= 1.0))
        os << "min_keep_ratio " << min_keep_ratio << " must be in [0, 1]";
    return os.str();
}

namespace {

// Spelling only (no driver queries): cpu, auto, cuda or cuda:N, any case.
bool device_spelled_right(std::string d) {
    for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (d == "cpu" || d == "auto" || d == "cuda") return true;
    if (d.rfind("cuda:", 0) != 0 || d.size() == 5) return false;
    return std::all_of(d.begin() + 5, d.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool dtype_spelled_right(std::string d) {
    for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* ok : {"auto", "f32", "fp32", "float32", "bf16", "bfloat16", "f16", "fp16", "float16"})
        if (d == ok) return true;
    return false;
}

}  // namespace

std::string EngineConfig::validate() const {
    std::ostringstream os;
    if (pack.empty()) os << "no model pack given";
    else if (!device_spelled_right(device))
        os << "device '" << device << "' is not cpu, cuda, cuda:N or auto";
    else if (!dtype_spelled_right(dtype))
        os << "dtype '" << dtype << "' is not f32, bf16, f16 or auto";
    else if (width < 0 || height < 0 || width % 16 != 0 || height % 16 != 0)
        os << "resolution " << width << "x" << height << " must be multiples of 16 (or 0)";
    else if (latent_frames_per_block < 0 || latent_frames_per_block > 16)
        os << "latent frames per block must be in 0..16";
    else if (kv_sink < -1 || kv_recent < -1) os << "KV window sizes must be >= 0 (or -1: the pack's)";
    else if (kept_bucket < -1) os << "kept bucket must be >= 0 (or -1: the device's default)";
    else if (gpus < 1 || gpus > 16) os << "GPU count (workers) must be in 1..16";
    return os.str();
}

}  // namespace lipar
