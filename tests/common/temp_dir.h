#pragma once
// A scratch folder in the system temporary directory, removed with everything in it when the
// object goes away. Shared by the I/O, text and media tests.

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "common/remove_tree.h"

namespace lipar::test {

class TempDir {
  public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "lipar_test_XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed for " + pattern);
        m_path = pattern;
    }
    ~TempDir() { remove_tree(m_path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name) const { return (m_path / name).string(); }
    const std::filesystem::path& path() const { return m_path; }

  private:
    std::filesystem::path m_path;
};

}  // namespace lipar::test
