// Linked into every test executable: a test that dies on a signal (segfault, abort, bus error)
// prints the test's name and a symbolised backtrace before the process ends, so a crash on a
// machine without a debugger (the GPU machine) still names the code that crashed.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>

namespace {

void write_str(const char* s) {
    if (s != nullptr)
        (void)!::write(STDERR_FILENO, s, std::strlen(s));
}

void on_fatal_signal(int sig) {
    write_str("\n*** fatal signal ");
    write_str(strsignal(sig));
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    if (info != nullptr) {
        write_str(" in test ");
        write_str(info->test_suite_name());
        write_str(".");
        write_str(info->name());
    }
    write_str("; backtrace:\n");
    void* frames[64];
    const int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    signal(sig, SIG_DFL);  // re-raise: the exit status still says which signal it was
    raise(sig);
}

const bool installed = [] {
    void* warm[1];
    backtrace(warm, 1);  // loads libgcc's unwinder now, not inside the handler
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
        signal(sig, on_fatal_signal);
    return true;
}();

}  // namespace
