#pragma once
// A small command-line parser shared by every `lipar` sub-command: positional arguments plus
// declared `--name VALUE` options and `--flag` switches. Unknown options and bad values raise
// lipar::Error(InvalidArgument) with a one-line message.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lipar::cli {

// "a,b,,c" -> {"a", "b", "c"} (empty items dropped): the comma-separated list options.
std::vector<std::string> split_list(const std::string& text, char separator = ',');
// "60,20" -> {60, 20}; Error(InvalidArgument) naming `what` for anything that is not a number.
std::vector<double> number_list(const std::string& text, const std::string& what);

class Args {
public:
    Args(std::string command, std::vector<std::string> argv);

    // Declarations (call before parse()). `help` is shown by usage().
    Args& option(const std::string& name, const std::string& help, std::string default_value = {});
    Args& flag(const std::string& name, const std::string& help);
    Args& positional(const std::string& name, const std::string& help, bool required = true);
    // Also accept `-X VALUE` for option `name`.
    Args& alias(const std::string& short_name, const std::string& name);

    // Throws Error(InvalidArgument) on unknown options, missing values or missing positionals.
    // Returns false when --help was given (usage already printed).
    bool parse();

    std::string usage() const;

    std::string get(const std::string& name) const;   // option or positional ("" when unset)
    bool has(const std::string& name) const;          // set explicitly on the command line
    bool flag_set(const std::string& name) const;
    int64_t get_int(const std::string& name) const;    // validated integer
    double get_double(const std::string& name) const;  // validated number
    // "832x480" -> {832, 480}
    std::pair<int64_t, int64_t> get_size(const std::string& name) const;

private:
    struct Spec {
        std::string help;
        std::string default_value;
        bool is_flag = false;
    };
    std::string m_command;
    std::vector<std::string> m_argv;
    std::map<std::string, Spec> m_options;
    std::vector<std::string> m_option_order;
    std::vector<std::pair<std::string, std::string>> m_positionals;  // name, help
    std::vector<bool> m_positional_required;
    std::map<std::string, std::string> m_aliases;
    std::map<std::string, std::string> m_values;
    std::map<std::string, bool> m_flags;
};

}  // namespace lipar::cli
