#pragma once
// Removes a folder and everything in it (test scratch space). Not std::filesystem::remove_all:
// with the GPU machine's LibTorch 2.11 wheel that call crashes on a non-empty folder (a jump to a
// null address; docs/PARITY.md, "Test portability"), so the tests clean up through nftw instead.

#include <ftw.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace lipar::test {

inline void remove_tree(const std::filesystem::path& path) {
    const auto remove_one = [](const char* p, const struct stat*, int, struct FTW*) {
        std::remove(p);  // files, links and (now empty, FTW_DEPTH) folders
        return 0;
    };
    ::nftw(path.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

// For scratch made once per test process (a shared random pack): removed when the process exits.
inline void remove_tree_at_exit(const std::filesystem::path& path) {
    static struct Paths {
        std::vector<std::filesystem::path> list;
        ~Paths() {
            for (const auto& p : list)
                remove_tree(p);
        }
    } paths;
    paths.list.push_back(path);
}

}  // namespace lipar::test
