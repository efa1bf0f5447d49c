#pragma once
// The engine's log, for applications that show it (the GUI's log panel, tests). No Torch here.
//
// Threading: a listener is called on the thread that logs (any engine thread), while the
// listener registry's lock is held: it must return quickly, must not block on the caller's
// thread, must not log, and must not add or remove listeners. Once remove_log_listener(id)
// returns, that listener is never called again (so its captures may be destroyed).

#include <functional>
#include <string>

namespace lipar {

enum class LogLevel { Trace = 0, Debug, Info, Warn, Error, Off };

using LogListener = std::function<void(LogLevel, const std::string&)>;
// Returns an id for remove_log_listener.
int add_log_listener(LogListener listener);
void remove_log_listener(int id);

const char* log_level_name(LogLevel level);

}  // namespace lipar
