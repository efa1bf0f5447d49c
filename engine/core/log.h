#pragma once
// Logging facade. Messages go to spdlog when the build has it (stderr otherwise) and to any
// registered listeners (the GUI's log panel, tests). Thread-safe: any thread may log; listeners are
// called on the logging thread and must not block.
//
//   LIPAR_LOG_INFO("loaded ", n, " tensors from ", path);

#include <functional>
#include <string>

#include "core/error.h"
#include "lipar/log_listener.h"  // LogLevel, LogListener, add/remove_log_listener (public API)

namespace lipar {

void log_message(LogLevel level, const std::string& message);
void set_log_level(LogLevel level);
LogLevel log_level();
bool log_enabled(LogLevel level);

}  // namespace lipar

#define LIPAR_LOG_AT(level, ...)                                                \
    do {                                                                        \
        if (::lipar::log_enabled(level)) {                                      \
            ::lipar::log_message(level, ::lipar::str_cat(__VA_ARGS__));         \
        }                                                                       \
    } while (0)
#define LIPAR_LOG_DEBUG(...) LIPAR_LOG_AT(::lipar::LogLevel::Debug, __VA_ARGS__)
#define LIPAR_LOG_INFO(...) LIPAR_LOG_AT(::lipar::LogLevel::Info, __VA_ARGS__)
#define LIPAR_LOG_WARN(...) LIPAR_LOG_AT(::lipar::LogLevel::Warn, __VA_ARGS__)
#define LIPAR_LOG_ERROR(...) LIPAR_LOG_AT(::lipar::LogLevel::Error, __VA_ARGS__)
