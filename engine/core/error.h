#pragma once
// Inside the engine, failures are thrown as lipar::Error (a StatusCode plus a message a user can
// act on). Public entry points catch them (and c10::Error, std::bad_alloc) and return a Status.

#include <sstream>
#include <stdexcept>
#include <string>

#include "lipar/status.h"

namespace lipar {

class Error : public std::runtime_error {
public:
    Error(StatusCode code, const std::string& message)
        : std::runtime_error(message), m_code(code) {}
    StatusCode code() const { return m_code; }
    Status status() const { return {m_code, what()}; }

private:
    StatusCode m_code;
};

namespace detail {
inline void append_all(std::ostringstream&) {}
template <typename T, typename... Rest>
void append_all(std::ostringstream& os, const T& first, const Rest&... rest) {
    os << first;
    append_all(os, rest...);
}
}  // namespace detail

// str_cat("tensor ", name, " has shape ", shape) using operator<<.
template <typename... Args>
std::string str_cat(const Args&... args) {
    std::ostringstream os;
    detail::append_all(os, args...);
    return os.str();
}

template <typename... Args>
[[noreturn]] void fail(StatusCode code, const Args&... args) {
    throw Error(code, str_cat(args...));
}

// Converts whatever a call threw into a Status: lipar::Error keeps its code, CUDA out-of-memory
// becomes OutOfMemory, anything else Internal with its message.
Status status_from_current_exception();

// Runs fn, returning Ok or the Status of what it threw.
template <typename Fn>
Status capture_status(Fn&& fn) {
    try {
        fn();
        return {};
    } catch (...) {
        return status_from_current_exception();
    }
}

}  // namespace lipar

#define LIPAR_CHECK(cond, code, ...)              \
    do {                                          \
        if (!(cond)) {                            \
            ::lipar::fail(code, __VA_ARGS__);     \
        }                                         \
    } while (0)
