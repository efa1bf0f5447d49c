#include "core/log.h"

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>

#ifdef LIPAR_HAVE_SPDLOG
#include <spdlog/spdlog.h>
#endif

namespace lipar {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};

// Guards g_listeners and g_next_id.
std::mutex g_listeners_mutex;
std::map<int, LogListener> g_listeners;
int g_next_id = 1;

#ifdef LIPAR_HAVE_SPDLOG
spdlog::level::level_enum to_spdlog(LogLevel level) {
    switch (level) {
        case LogLevel::Trace: return spdlog::level::trace;
        case LogLevel::Debug: return spdlog::level::debug;
        case LogLevel::Info: return spdlog::level::info;
        case LogLevel::Warn: return spdlog::level::warn;
        case LogLevel::Error: return spdlog::level::err;
        case LogLevel::Off: return spdlog::level::off;
    }
    return spdlog::level::info;
}
#endif
}  // namespace

const char* log_level_name(LogLevel level) {
    switch (level) {
        case LogLevel::Trace: return "trace";
        case LogLevel::Debug: return "debug";
        case LogLevel::Info: return "info";
        case LogLevel::Warn: return "warn";
        case LogLevel::Error: return "error";
        case LogLevel::Off: return "off";
    }
    return "?";
}

void set_log_level(LogLevel level) {
    g_level = static_cast<int>(level);
#ifdef LIPAR_HAVE_SPDLOG
    spdlog::set_level(to_spdlog(level));
#endif
}

LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

void log_message(LogLevel level, const std::string& message) {
#ifdef LIPAR_HAVE_SPDLOG
    spdlog::log(to_spdlog(level), "{}", message);
#else
    std::cerr << "[" << log_level_name(level) << "] " << message << std::endl;
#endif
    std::lock_guard<std::mutex> lock(g_listeners_mutex);
    for (auto& [id, listener] : g_listeners) listener(level, message);
}

int add_log_listener(LogListener listener) {
    std::lock_guard<std::mutex> lock(g_listeners_mutex);
    const int id = g_next_id++;
    g_listeners.emplace(id, std::move(listener));
    return id;
}

void remove_log_listener(int id) {
    std::lock_guard<std::mutex> lock(g_listeners_mutex);
    g_listeners.erase(id);
}

}  // namespace lipar
