#pragma once
// Files the program writes never destroy what it reads and never appear half-written under
// their final name:
//  - refuse_overwriting_inputs: an output that is one of the inputs (same path, or the same file
//    through another path or a link) is refused before anything is opened for writing;
//  - PartialFile: the output is written to "NAME.partial.EXT" in the same folder (same
//    extension, so the container is chosen as for the final name) and renamed into place by
//    commit(); if the writer fails first, the partial file is removed (remove_on_abort), or
//    kept for recordings, whose partial file stays playable after a crash;
//  - unused_path: a name that does not exist yet ("snap.png", "snap-1.png", ...).
// Reentrant; a PartialFile belongs to one thread.

#include <string>
#include <vector>

namespace lipar::media {

// Error(InvalidArgument) naming both paths when `output` and an input are the same file.
void refuse_overwriting_inputs(const std::string& output, const std::vector<std::string>& inputs);

class PartialFile {
  public:
    enum class OnAbort { Invalid = 0, Remove, Keep };
    PartialFile(std::string final_path, OnAbort on_abort);
    ~PartialFile();
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;

    const std::string& path() const { return m_partial; }   // where to write
    const std::string& final_path() const { return m_final; }
    // Renames the partial file to the final name (replacing an older file of that name).
    // Error(IoError) naming both paths.
    void commit();
    bool committed() const { return m_committed; }

  private:
    std::string m_final, m_partial;
    OnAbort m_on_abort;
    bool m_committed = false;
};

// "NAME.partial.EXT" beside `path`.
std::string partial_path_for(const std::string& path);
std::string unused_path(const std::string& path);

}  // namespace lipar::media
