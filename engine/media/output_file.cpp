#include "media/output_file.h"

#include <sys/stat.h>

#include <filesystem>

#include "core/error.h"

namespace lipar::media {

namespace fs = std::filesystem;

namespace {

bool same_file(const std::string& a, const std::string& b) {
    struct stat sa {}, sb {};
    if (::stat(a.c_str(), &sa) != 0 || ::stat(b.c_str(), &sb) != 0) {
        // Not both present: compare the normalised absolute paths.
        std::error_code ec;
        const auto na = fs::weakly_canonical(fs::absolute(a), ec);
        const auto nb = fs::weakly_canonical(fs::absolute(b), ec);
        return !ec && na == nb;
    }
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

void refuse_overwriting_inputs(const std::string& output, const std::vector<std::string>& inputs) {
    for (const auto& in : inputs) {
        if (in.empty()) continue;
        LIPAR_CHECK(!same_file(output, in), StatusCode::InvalidArgument, "refusing to write '",
                    output, "': it is the input '", in,
                    "' (choose another output name; the input would be lost)");
    }
}

std::string partial_path_for(const std::string& path) {
    const fs::path p(path);
    return (p.parent_path() / (p.stem().string() + ".partial" + p.extension().string())).string();
}

PartialFile::PartialFile(std::string final_path, OnAbort on_abort)
    : m_final(std::move(final_path)), m_partial(partial_path_for(m_final)), m_on_abort(on_abort) {}

PartialFile::~PartialFile() {
    if (!m_committed && m_on_abort == OnAbort::Remove) {
        std::error_code ec;
        fs::remove(m_partial, ec);
    }
}

void PartialFile::commit() {
    std::error_code ec;
    fs::rename(m_partial, m_final, ec);
    LIPAR_CHECK(!ec, StatusCode::IoError, "cannot rename '", m_partial, "' to '", m_final,
                "': ", ec.message());
    m_committed = true;
}

std::string unused_path(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return path;
    const fs::path p(path);
    for (int i = 1;; ++i) {
        const auto candidate =
            (p.parent_path() / (p.stem().string() + "-" + std::to_string(i) + p.extension().string()))
                .string();
        if (!fs::exists(candidate, ec)) return candidate;
    }
}

}  // namespace lipar::media
