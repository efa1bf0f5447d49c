#pragma once
// Names the calling thread (shown by debuggers and top -H); a no-op where unsupported.

#ifdef __linux__
#include <pthread.h>
#endif

namespace lipar::runtime {

inline void set_thread_name(const char* name) {  // at most 15 characters on Linux
#ifdef __linux__
    pthread_setname_np(pthread_self(), name);
#else
    (void)name;
#endif
}

}  // namespace lipar::runtime
