#pragma once
// A read-only view of a zip archive whose entries are STORED (uncompressed), as torch.save writes
// them. Parses the central directory (zip64 records and extra fields included, for checkpoints
// over 4 GB) and reads entry data in place. Compressed or encrypted entries are reported as
// Error(Unsupported) when read; structural damage as Error(FormatError) naming the file.
// Borrows the BinaryFile, which must outlive the archive; not thread-safe.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/binary_file.h"

namespace lipar::io {

struct ZipEntry {
    std::string name;
    uint64_t local_header_offset = 0;
    uint64_t compressed_size = 0;
    uint64_t size = 0;    // uncompressed
    uint16_t method = 0;  // 0 = stored
    uint16_t flags = 0;
};

class ZipArchive {
  public:
    explicit ZipArchive(BinaryFile& file);

    const std::vector<ZipEntry>& entries() const { return m_entries; }
    const ZipEntry* find(const std::string& name) const;

    // Absolute file offset of the entry's data (reads its local header); checks that the entry
    // is stored, unencrypted and lies inside the file.
    uint64_t data_offset(const ZipEntry& entry);
    void read(const ZipEntry& entry, void* dst, uint64_t n);  // n <= entry.size
    std::string read_string(const ZipEntry& entry);

  private:
    void read_central_directory();

    BinaryFile& m_file;
    std::vector<ZipEntry> m_entries;
    std::unordered_map<std::string, size_t> m_by_name;
};

}  // namespace lipar::io
