#pragma once
// Bounds-checked random-access reads from a file. Every error names the file; a read past the end
// is a FormatError ("truncated"), an OS read failure an IoError. One BinaryFile per thread.

#include <cstdint>
#include <fstream>
#include <string>

namespace lipar::io {

class BinaryFile {
  public:
    // Error(NotFound) when the file does not exist, Error(IoError) when it cannot be opened.
    explicit BinaryFile(const std::string& path);

    const std::string& path() const { return m_path; }
    uint64_t size() const { return m_size; }

    // Reads exactly `n` bytes at `offset` into `dst`; `what` names the part for error messages
    // ("safetensors header", "zip entry x/data/0").
    void read_at(uint64_t offset, void* dst, uint64_t n, const std::string& what);
    std::string read_string(uint64_t offset, uint64_t n, const std::string& what);
    // Error(FormatError) unless bytes [offset, offset + n) lie inside the file.
    void check_range(uint64_t offset, uint64_t n, const std::string& what) const;

  private:
    std::string m_path;
    std::ifstream m_in;
    uint64_t m_size = 0;
};

// Error(NotFound) naming the file unless it exists and is a regular file.
void require_regular_file(const std::string& path);

// Writes through a temporary file beside `path`, renamed over it by commit(); a writer destroyed
// without commit() removes the temporary, so a failed write never leaves a half-written file.
class AtomicFileWriter {
  public:
    explicit AtomicFileWriter(const std::string& path);
    ~AtomicFileWriter();
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, uint64_t n);
    uint64_t bytes_written() const { return m_written; }
    void commit();

  private:
    std::string m_path;
    std::string m_tmp_path;
    std::ofstream m_out;
    uint64_t m_written = 0;
    bool m_committed = false;
};

}  // namespace lipar::io
