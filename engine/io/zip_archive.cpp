#include "io/zip_archive.h"

#include <algorithm>

#include "core/error.h"

namespace lipar::io {

namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint64_t kEndRecordBytes = 22;
constexpr uint64_t kMaxCommentBytes = 0xFFFF;

uint64_t le(const std::string& buf, size_t pos, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(buf[pos + i]);
    return v;
}

struct Directory {
    uint64_t entries = 0;
    uint64_t size = 0;
    uint64_t offset = 0;
};

}  // namespace

ZipArchive::ZipArchive(BinaryFile& file) : m_file(file) {
    read_central_directory();
}

void ZipArchive::read_central_directory() {
    const std::string& path = m_file.path();
    const uint64_t file_size = m_file.size();
    LIPAR_CHECK(file_size >= kEndRecordBytes, StatusCode::FormatError, path,
                ": not a zip archive (", file_size, " bytes)");
    // The end record sits in the last 22 + comment bytes; scan backwards for its signature.
    const uint64_t tail_len = std::min(file_size, kEndRecordBytes + kMaxCommentBytes);
    const uint64_t tail_start = file_size - tail_len;
    const std::string tail = m_file.read_string(tail_start, tail_len, "zip end record");
    int64_t end_pos = -1;
    for (int64_t p = static_cast<int64_t>(tail_len - kEndRecordBytes); p >= 0; --p) {
        if (le(tail, static_cast<size_t>(p), 4) == kEndSig) {
            end_pos = p;
            break;
        }
    }
    LIPAR_CHECK(end_pos >= 0, StatusCode::FormatError, path,
                ": zip end-of-central-directory record not found (truncated or not a zip file)");
    const size_t e = static_cast<size_t>(end_pos);
    Directory dir{le(tail, e + 10, 2), le(tail, e + 12, 4), le(tail, e + 16, 4)};

    // Zip64: a locator right before the end record points at the zip64 end record.
    const uint64_t end_abs = tail_start + e;
    if (end_abs >= 20) {
        const std::string loc = m_file.read_string(end_abs - 20, 20, "zip64 locator");
        if (le(loc, 0, 4) == kZip64LocatorSig) {
            const uint64_t rec_off = le(loc, 8, 8);
            const std::string rec = m_file.read_string(rec_off, 56, "zip64 end record");
            LIPAR_CHECK(le(rec, 0, 4) == kZip64EndSig, StatusCode::FormatError, path,
                        ": zip64 end record not found at byte ", rec_off);
            dir = Directory{le(rec, 32, 8), le(rec, 40, 8), le(rec, 48, 8)};
        }
    }
    LIPAR_CHECK(dir.offset <= file_size && dir.size <= file_size - dir.offset,
                StatusCode::FormatError, path, ": zip central directory (bytes ", dir.offset, "..",
                dir.offset + dir.size, ") lies outside the file (", file_size,
                " bytes; truncated?)");
    // Each central header takes at least 46 bytes; a larger count means a corrupt record.
    LIPAR_CHECK(dir.entries <= dir.size / 46, StatusCode::FormatError, path,
                ": zip directory claims ", dir.entries, " entries in ", dir.size, " bytes");

    const std::string cd = m_file.read_string(dir.offset, dir.size, "zip central directory");
    size_t pos = 0;
    m_entries.reserve(static_cast<size_t>(dir.entries));
    for (uint64_t i = 0; i < dir.entries; ++i) {
        LIPAR_CHECK(pos + 46 <= cd.size() && le(cd, pos, 4) == kCentralHeaderSig,
                    StatusCode::FormatError, path, ": zip central directory entry ", i,
                    " is damaged (at byte ", dir.offset + pos, ")");
        ZipEntry entry;
        entry.flags = static_cast<uint16_t>(le(cd, pos + 8, 2));
        entry.method = static_cast<uint16_t>(le(cd, pos + 10, 2));
        entry.compressed_size = le(cd, pos + 20, 4);
        entry.size = le(cd, pos + 24, 4);
        const size_t name_len = static_cast<size_t>(le(cd, pos + 28, 2));
        const size_t extra_len = static_cast<size_t>(le(cd, pos + 30, 2));
        const size_t comment_len = static_cast<size_t>(le(cd, pos + 32, 2));
        entry.local_header_offset = le(cd, pos + 42, 4);
        const size_t var_start = pos + 46;
        LIPAR_CHECK(var_start + name_len + extra_len + comment_len <= cd.size(),
                    StatusCode::FormatError, path, ": zip central directory entry ", i,
                    " runs past the directory");
        entry.name = cd.substr(var_start, name_len);

        // Zip64 extra field: 64-bit values for the fields saturated at 0xFFFFFFFF, in this order.
        size_t x = var_start + name_len;
        const size_t x_end = x + extra_len;
        while (x + 4 <= x_end) {
            const uint64_t id = le(cd, x, 2);
            const size_t len = static_cast<size_t>(le(cd, x + 2, 2));
            LIPAR_CHECK(x + 4 + len <= x_end, StatusCode::FormatError, path, ": zip entry '",
                        entry.name, "' has a damaged extra field");
            if (id == 0x0001) {
                size_t f = x + 4;
                const size_t f_end = x + 4 + len;
                for (uint64_t* field :
                     {&entry.size, &entry.compressed_size, &entry.local_header_offset}) {
                    if (*field != 0xFFFFFFFFu)
                        continue;
                    LIPAR_CHECK(f + 8 <= f_end, StatusCode::FormatError, path, ": zip entry '",
                                entry.name, "' has a short zip64 extra field");
                    *field = le(cd, f, 8);
                    f += 8;
                }
            }
            x += 4 + len;
        }
        pos = x_end + comment_len;
        m_by_name.emplace(entry.name, m_entries.size());
        m_entries.push_back(std::move(entry));
    }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
    const auto it = m_by_name.find(name);
    return it == m_by_name.end() ? nullptr : &m_entries[it->second];
}

uint64_t ZipArchive::data_offset(const ZipEntry& entry) {
    const std::string& path = m_file.path();
    if (entry.flags & 0x1) {
        fail(StatusCode::Unsupported, path, ": zip entry '", entry.name, "' is encrypted");
    }
    if (entry.method != 0) {
        fail(StatusCode::Unsupported, path, ": zip entry '", entry.name, "' is compressed (method ",
             entry.method, "); only stored entries are supported, as torch.save writes them");
    }
    LIPAR_CHECK(entry.compressed_size == entry.size, StatusCode::FormatError, path,
                ": stored zip entry '", entry.name, "' has compressed size ", entry.compressed_size,
                " but size ", entry.size);
    const std::string local =
        m_file.read_string(entry.local_header_offset, 30, "local header of '" + entry.name + "'");
    LIPAR_CHECK(le(local, 0, 4) == kLocalHeaderSig, StatusCode::FormatError, path,
                ": zip local header of '", entry.name, "' not found at byte ",
                entry.local_header_offset);
    const uint64_t start = entry.local_header_offset + 30 + le(local, 26, 2) + le(local, 28, 2);
    m_file.check_range(start, entry.size, "zip entry '" + entry.name + "'");
    return start;
}

void ZipArchive::read(const ZipEntry& entry, void* dst, uint64_t n) {
    LIPAR_CHECK(n <= entry.size, StatusCode::Internal, "read of ", n, " bytes from zip entry '",
                entry.name, "' of ", entry.size);
    m_file.read_at(data_offset(entry), dst, n, "zip entry '" + entry.name + "'");
}

std::string ZipArchive::read_string(const ZipEntry& entry) {
    const uint64_t start = data_offset(entry);
    return m_file.read_string(start, entry.size, "zip entry '" + entry.name + "'");
}

}  // namespace lipar::io
