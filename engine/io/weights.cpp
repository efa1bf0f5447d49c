#include "io/weights.h"

#include <map>
#include <set>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"

namespace lipar::io {

namespace {

constexpr size_t kListedPerKind = 10;

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// "3 missing: a, b, c" with at most kListedPerKind names.
std::string describe(const std::vector<std::string>& names,
                     const std::string& kind,
                     const std::string& separator) {
    std::string out = str_cat(names.size(), " ", kind);
    if (names.empty())
        return out;
    out += ": ";
    for (size_t i = 0; i < names.size() && i < kListedPerKind; ++i) {
        if (i)
            out += separator;
        out += names[i];
    }
    if (names.size() > kListedPerKind)
        out += str_cat(separator, "... and ", names.size() - kListedPerKind, " more");
    return out;
}

// When the unexpected names share a few first components, say so: the usual cause is a nested
// checkpoint ({'generator': ..., 'generator_ema': ...}) whose part was not selected.
std::string prefix_hint(const std::vector<std::string>& unexpected) {
    std::set<std::string> firsts;
    for (const auto& name : unexpected) {
        const auto dot = name.find('.');
        if (dot == std::string::npos)
            return {};
        firsts.insert(name.substr(0, dot));
    }
    if (firsts.empty() || firsts.size() > 4)
        return {};
    std::string list;
    for (const auto& f : firsts)
        list += (list.empty() ? "'" : ", '") + f + "'";
    return str_cat(" (unexpected names start with ", list,
                   ": select a part with select_prefix or `lipar convert --select`)");
}

// The module name a checkpoint name maps to after stripping prefixes, or "" when none.
std::string strip_to_match(const std::string& key,
                           const std::vector<std::string>& prefixes,
                           const std::map<std::string, torch::Tensor>& targets,
                           const std::map<std::string, std::string>& taken) {
    std::string s = key;
    for (;;) {
        bool stripped = false;
        for (const auto& p : prefixes) {
            if (!p.empty() && starts_with(s, p)) {
                s = s.substr(p.size());
                stripped = true;
                break;
            }
        }
        if (!stripped)
            return {};
        if (targets.count(s))
            return taken.count(s) ? std::string() : s;
    }
}

}  // namespace

std::string WeightReport::summary() const {
    return str_cat("applied ", applied, " tensors; ", describe(missing, "missing", ", "), "; ",
                   describe(unexpected, "unexpected", ", "), "; ",
                   describe(mismatched, "shape mismatches", "; "));
}

WeightReport apply_weights(torch::nn::Module& module,
                           const TensorMap& weights,
                           const ApplyOptions& options) {
    std::map<std::string, torch::Tensor> targets;
    for (const auto& item : module.named_parameters(/*recurse=*/true)) {
        if (item.value().defined())
            targets[item.key()] = item.value();
    }
    for (const auto& item : module.named_buffers(/*recurse=*/true)) {
        if (item.value().defined())
            targets[item.key()] = item.value();
    }

    std::map<std::string, std::string> source_of;  // module name -> checkpoint name
    std::vector<std::string> unresolved;
    for (const auto& [key, t] : weights) {
        if (targets.count(key)) {
            source_of[key] = key;
        } else {
            unresolved.push_back(key);
        }
    }
    WeightReport report;
    for (const auto& key : unresolved) {
        const std::string name = strip_to_match(key, options.strip_prefixes, targets, source_of);
        if (name.empty()) {
            report.unexpected.push_back(key);
        } else {
            source_of[name] = key;
        }
    }
    for (const auto& [name, target] : targets) {
        const auto it = source_of.find(name);
        if (it == source_of.end()) {
            report.missing.push_back(name);
            continue;
        }
        const torch::Tensor& src = weights.at(it->second);
        if (!src.defined() || src.sizes() != target.sizes()) {
            report.mismatched.push_back(str_cat(
                name, ": checkpoint ", src.defined() ? shape_string(src.sizes()) : "undefined",
                " vs model ", shape_string(target.sizes())));
        }
    }

    std::vector<std::string> problems;
    StatusCode code = StatusCode::Ok;
    if (!report.mismatched.empty()) {
        problems.push_back(describe(report.mismatched, "shape mismatches", "; "));
        code = StatusCode::ShapeMismatch;
    }
    if (!report.missing.empty() && !options.allow_missing) {
        problems.push_back(describe(report.missing, "missing from the checkpoint", ", "));
        if (code == StatusCode::Ok)
            code = StatusCode::NotFound;
    }
    if (!report.unexpected.empty() && !options.allow_unexpected) {
        problems.push_back(describe(report.unexpected, "unexpected in the checkpoint", ", "));
        if (code == StatusCode::Ok)
            code = StatusCode::FormatError;
    }
    if (code != StatusCode::Ok) {
        std::string message = "weights do not fit the model: ";
        for (size_t i = 0; i < problems.size(); ++i)
            message += (i ? "; " : "") + problems[i];
        if (!report.unexpected.empty())
            message += prefix_hint(report.unexpected);
        fail(code, message);
    }

    torch::NoGradGuard no_grad;
    for (const auto& [name, key] : source_of) {
        targets.at(name).copy_(weights.at(key));
        ++report.applied;
    }
    if (!report.ok())
        LIPAR_LOG_WARN("weights applied with gaps: ", report.summary());
    return report;
}

TensorMap select_prefix(const TensorMap& weights, const std::string& prefix) {
    if (prefix.empty())
        return weights;
    const std::string p = prefix.back() == '.' ? prefix : prefix + ".";
    TensorMap out;
    for (const auto& [name, t] : weights) {
        if (starts_with(name, p) && name.size() > p.size())
            out[name.substr(p.size())] = t;
    }
    return out;
}

}  // namespace lipar::io
