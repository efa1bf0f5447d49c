#include "io/binary_file.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <system_error>

#include <unistd.h>

#include "core/error.h"

namespace lipar::io {

namespace fs = std::filesystem;

void require_regular_file(const std::string& path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        fail(StatusCode::NotFound, "file not found: ", path);
    if (fs::is_directory(status)) {
        fail(StatusCode::InvalidArgument, path, " is a directory, not a file");
    }
}

BinaryFile::BinaryFile(const std::string& path) : m_path(path) {
    require_regular_file(path);
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec)
        fail(StatusCode::IoError, "cannot read the size of ", path, ": ", ec.message());
    m_size = static_cast<uint64_t>(size);
    m_in.open(path, std::ios::binary);
    if (!m_in)
        fail(StatusCode::IoError, "cannot open ", path, " for reading");
}

void BinaryFile::check_range(uint64_t offset, uint64_t n, const std::string& what) const {
    if (offset > m_size || n > m_size - offset) {
        fail(StatusCode::FormatError, m_path, ": file is truncated: ", what, " needs bytes ",
             offset, "..", offset + n, " but the file has ", m_size, " bytes");
    }
}

void BinaryFile::read_at(uint64_t offset, void* dst, uint64_t n, const std::string& what) {
    check_range(offset, n, what);
    if (n == 0)
        return;
    m_in.clear();
    m_in.seekg(static_cast<std::streamoff>(offset));
    // Chunked so that multi-GB tensors never hit a platform limit on one read call.
    constexpr uint64_t kChunk = uint64_t{1} << 28;
    char* out = static_cast<char*>(dst);
    uint64_t done = 0;
    while (done < n && m_in) {
        const uint64_t step = std::min(kChunk, n - done);
        m_in.read(out + done, static_cast<std::streamsize>(step));
        done += static_cast<uint64_t>(m_in.gcount());
    }
    if (done != n) {
        fail(StatusCode::IoError, m_path, ": read failed for ", what, " at byte ", offset + done);
    }
}

std::string BinaryFile::read_string(uint64_t offset, uint64_t n, const std::string& what) {
    check_range(offset, n, what);
    std::string s(n, '\0');
    read_at(offset, s.data(), n, what);
    return s;
}

AtomicFileWriter::AtomicFileWriter(const std::string& path) : m_path(path) {
    LIPAR_CHECK(!path.empty(), StatusCode::InvalidArgument, "empty output path");
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        fail(StatusCode::InvalidArgument, path, " is a directory, not a file");
    }
    // Unique per process (pid) and per writer (counter): two writers never share a temporary file.
    static std::atomic<uint64_t> counter{0};
    m_tmp_path = path + ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    m_out.open(m_tmp_path, std::ios::binary | std::ios::trunc);
    if (!m_out) {
        fail(StatusCode::IoError, "cannot create ", m_tmp_path,
             " (does the folder exist and is it writable?)");
    }
}

AtomicFileWriter::~AtomicFileWriter() {
    if (m_committed)
        return;
    m_out.close();
    std::error_code ec;
    fs::remove(m_tmp_path, ec);
}

void AtomicFileWriter::write(const void* data, uint64_t n) {
    LIPAR_CHECK(!m_committed, StatusCode::Internal, "write after commit to ", m_path);
    const char* p = static_cast<const char*>(data);
    constexpr uint64_t kChunk = uint64_t{1} << 28;
    for (uint64_t done = 0; done < n;) {
        const uint64_t step = std::min(kChunk, n - done);
        m_out.write(p + done, static_cast<std::streamsize>(step));
        if (!m_out)
            fail(StatusCode::IoError, "write failed for ", m_tmp_path, " (disk full?)");
        done += step;
    }
    m_written += n;
}

void AtomicFileWriter::commit() {
    m_out.flush();
    m_out.close();
    if (m_out.fail())
        fail(StatusCode::IoError, "write failed for ", m_tmp_path, " (disk full?)");
    std::error_code ec;
    fs::rename(m_tmp_path, m_path, ec);
    if (ec)
        fail(StatusCode::IoError, "cannot rename ", m_tmp_path, " to ", m_path, ": ", ec.message());
    m_committed = true;
}

}  // namespace lipar::io
