#include "args.h"

#include <iostream>
#include <sstream>

#include "core/error.h"

namespace lipar::cli {

std::vector<double> number_list(const std::string& text, const std::string& what) {
    std::vector<double> out;
    for (const auto& item : split_list(text)) {
        size_t used = 0;
        double v = 0;
        try {
            v = std::stod(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        LIPAR_CHECK(used == item.size() && used > 0, StatusCode::InvalidArgument, what, " '", item,
                    "' is not a number");
        out.push_back(v);
    }
    return out;
}

std::vector<std::string> split_list(const std::string& text, char separator) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = text.find(separator, start);
        const size_t end = comma == std::string::npos ? text.size() : comma;
        if (end > start) out.push_back(text.substr(start, end - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

Args::Args(std::string command, std::vector<std::string> argv)
    : m_command(std::move(command)), m_argv(std::move(argv)) {}

Args& Args::option(const std::string& name, const std::string& help, std::string default_value) {
    m_options[name] = Spec{help, std::move(default_value), false};
    m_option_order.push_back(name);
    return *this;
}

Args& Args::flag(const std::string& name, const std::string& help) {
    m_options[name] = Spec{help, {}, true};
    m_option_order.push_back(name);
    return *this;
}

Args& Args::positional(const std::string& name, const std::string& help, bool required) {
    m_positionals.emplace_back(name, help);
    m_positional_required.push_back(required);
    return *this;
}

Args& Args::alias(const std::string& short_name, const std::string& name) {
    m_aliases[short_name] = name;
    return *this;
}

bool Args::parse() {
    size_t next_positional = 0;
    for (size_t i = 0; i < m_argv.size(); ++i) {
        std::string arg = m_argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage();
            return false;
        }
        if (auto it = m_aliases.find(arg); it != m_aliases.end()) arg = "--" + it->second;
        if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
            std::string name = arg.substr(2);
            std::optional<std::string> inline_value;
            if (auto eq = name.find('='); eq != std::string::npos) {
                inline_value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            auto spec = m_options.find(name);
            LIPAR_CHECK(spec != m_options.end(), StatusCode::InvalidArgument,
                        "unknown option --", name, " (see lipar ", m_command, " --help)");
            if (spec->second.is_flag) {
                LIPAR_CHECK(!inline_value, StatusCode::InvalidArgument, "option --", name,
                            " takes no value");
                m_flags[name] = true;
                continue;
            }
            if (inline_value) {
                m_values[name] = *inline_value;
            } else {
                LIPAR_CHECK(i + 1 < m_argv.size(), StatusCode::InvalidArgument, "option --", name,
                            " needs a value");
                m_values[name] = m_argv[++i];
            }
            continue;
        }
        LIPAR_CHECK(next_positional < m_positionals.size(), StatusCode::InvalidArgument,
                    "unexpected argument '", arg, "' (see lipar ", m_command, " --help)");
        m_values[m_positionals[next_positional++].first] = arg;
    }
    for (size_t p = next_positional; p < m_positionals.size(); ++p) {
        LIPAR_CHECK(!m_positional_required[p], StatusCode::InvalidArgument,
                    "missing ", m_positionals[p].first, " (see lipar ", m_command, " --help)");
    }
    return true;
}

std::string Args::usage() const {
    std::ostringstream os;
    os << "usage: lipar " << m_command;
    for (size_t p = 0; p < m_positionals.size(); ++p) {
        os << (m_positional_required[p] ? " " : " [") << m_positionals[p].first
           << (m_positional_required[p] ? "" : "]");
    }
    os << " [options]\n";
    for (const auto& [name, help] : m_positionals) os << "  " << name << "\n      " << help << "\n";
    for (const auto& name : m_option_order) {
        const Spec& s = m_options.at(name);
        os << "  --" << name << (s.is_flag ? "" : " VALUE") << "\n      " << s.help;
        if (!s.default_value.empty()) os << " (default " << s.default_value << ")";
        os << "\n";
    }
    return os.str();
}

std::string Args::get(const std::string& name) const {
    if (auto it = m_values.find(name); it != m_values.end()) return it->second;
    if (auto it = m_options.find(name); it != m_options.end()) return it->second.default_value;
    return {};
}

bool Args::has(const std::string& name) const {
    return m_values.count(name) > 0 || m_flags.count(name) > 0;
}

bool Args::flag_set(const std::string& name) const {
    auto it = m_flags.find(name);
    return it != m_flags.end() && it->second;
}

int64_t Args::get_int(const std::string& name) const {
    const std::string v = get(name);
    try {
        size_t used = 0;
        const long long x = std::stoll(v, &used);
        if (used == v.size()) return x;
    } catch (...) {
    }
    fail(StatusCode::InvalidArgument, "option --", name, " expects an integer, got '", v, "'");
}

double Args::get_double(const std::string& name) const {
    const std::string v = get(name);
    try {
        size_t used = 0;
        const double x = std::stod(v, &used);
        if (used == v.size()) return x;
    } catch (...) {
    }
    fail(StatusCode::InvalidArgument, "option --", name, " expects a number, got '", v, "'");
}

std::pair<int64_t, int64_t> Args::get_size(const std::string& name) const {
    const std::string v = get(name);
    const auto x = v.find('x');
    try {
        if (x != std::string::npos) {
            size_t u1 = 0, u2 = 0;
            const long long w = std::stoll(v.substr(0, x), &u1);
            const long long h = std::stoll(v.substr(x + 1), &u2);
            if (u1 == x && u2 == v.size() - x - 1 && w > 0 && h > 0) return {w, h};
        }
    } catch (...) {
    }
    fail(StatusCode::InvalidArgument, "option --", name, " expects WIDTHxHEIGHT, got '", v, "'");
}

}  // namespace lipar::cli
