#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/log.h"
#include "media/y4m.h"

namespace lipar::media {
namespace {

constexpr size_t kMaxHeaderBytes = 4096;
constexpr int kMaxSide = 16384;
const char kFrameMagic[] = "FRAME";

bool parse_int(const std::string& text, int& out) {
    if (text.empty()) {
        return false;
    }
    char* end = nullptr;
    errno = 0;
    const long value = std::strtol(text.c_str(), &end, 10);
    if (errno != 0 || end != text.c_str() + text.size() ||
        value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
        return false;
    }
    out = static_cast<int>(value);
    return true;
}

// Reads bytes up to '\n' (not included); false at end of file before any byte.
bool read_line(std::FILE* file, std::string& line, size_t max_bytes, const std::string& path) {
    line.clear();
    for (;;) {
        const int c = std::fgetc(file);
        if (c == EOF) {
            if (line.empty()) {
                return false;
            }
            fail(StatusCode::FormatError, "y4m file ", path, " ends inside a header line");
        }
        if (c == '\n') {
            return true;
        }
        line.push_back(static_cast<char>(c));
        if (line.size() > max_bytes) {
            fail(StatusCode::FormatError, "y4m file ", path, ": header line longer than ",
                 max_bytes, " bytes (not a YUV4MPEG2 stream?)");
        }
    }
}

}  // namespace

Y4mHeader parse_y4m_header(const std::string& line, const std::string& where) {
    const std::string magic = "YUV4MPEG2";
    if (line.compare(0, magic.size(), magic) != 0) {
        fail(StatusCode::FormatError, "not a video: ", where, " does not start with YUV4MPEG2");
    }
    Y4mHeader h;
    bool have_w = false, have_h = false, have_f = false;
    size_t pos = magic.size();
    while (pos < line.size()) {
        if (line[pos] == ' ') {
            ++pos;
            continue;
        }
        const size_t end = std::min(line.find(' ', pos), line.size());
        const std::string token = line.substr(pos, end - pos);
        pos = end;
        const std::string value = token.substr(1);
        switch (token[0]) {
            case 'W':
                have_w = parse_int(value, h.width);
                break;
            case 'H':
                have_h = parse_int(value, h.height);
                break;
            case 'F': {
                const size_t colon = value.find(':');
                have_f =
                    colon != std::string::npos && parse_int(value.substr(0, colon), h.fps_num) &&
                    parse_int(value.substr(colon + 1), h.fps_den) && h.fps_num > 0 && h.fps_den > 0;
                LIPAR_CHECK(have_f, StatusCode::FormatError, "y4m file ", where,
                            ": bad frame rate '", token, "'");
                break;
            }
            case 'I':
                h.interlaced = value != "p" && value != "?";
                break;
            case 'C':
                if (value == "420jpeg" || value == "420mpeg2" || value == "420paldv" ||
                    value == "420") {
                    h.chroma = Y4mChroma::C420;
                } else if (value == "444") {
                    h.chroma = Y4mChroma::C444;
                } else {
                    fail(StatusCode::Unsupported, "y4m file ", where, ": colour space C", value,
                         " is not supported (use 8-bit 4:2:0 or 4:4:4, e.g. ffmpeg -pix_fmt "
                         "yuv420p)");
                }
                break;
            case 'X':
                if (value == "COLORRANGE=FULL") {
                    h.range = YuvRange::Full;
                } else if (value == "COLORRANGE=LIMITED") {
                    h.range = YuvRange::Limited;
                }
                break;
            default:  // A (aspect) and unknown tags carry nothing we need
                break;
        }
    }
    LIPAR_CHECK(have_w && have_h && h.width > 0 && h.height > 0 && h.width <= kMaxSide &&
                    h.height <= kMaxSide,
                StatusCode::FormatError, "y4m file ", where, ": missing or invalid size (W",
                h.width, " H", h.height, ")");
    if (!have_f) {
        LIPAR_LOG_WARN("y4m file ", where, " has no frame rate; assuming 25 fps");
        h.fps_num = 25;
        h.fps_den = 1;
    }
    return h;
}

Y4mReader::Y4mReader(const std::string& path) : m_path(path) {
    m_file = std::fopen(path.c_str(), "rb");
    if (m_file == nullptr) {
        if (errno == ENOENT) {
            fail(StatusCode::NotFound, "video file not found: ", path);
        }
        fail(StatusCode::IoError, "cannot open ", path, ": ", std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fileno(m_file), &st) == 0) {
        m_file_size = st.st_size;
    }
    try {
        std::string line;
        if (!read_line(m_file, line, kMaxHeaderBytes, path)) {
            fail(StatusCode::FormatError, "not a video: ", path, " is empty");
        }
        m_header = parse_y4m_header(line, path);
        if (m_header.interlaced) {
            LIPAR_LOG_WARN(path, ": interlaced y4m is read as progressive frames");
        }
    } catch (...) {
        std::fclose(m_file);
        m_file = nullptr;
        throw;
    }
    m_data_offset = ftello(m_file);
    m_info.width = m_header.width;
    m_info.height = m_header.height;
    m_info.fps = static_cast<double>(m_header.fps_num) / m_header.fps_den;
    m_info.codec = "rawvideo";
    m_info.container = "yuv4mpegpipe";
    const int64_t frame_bytes = static_cast<int64_t>(payload_bytes()) + 6;
    // Exact when frame headers carry no parameters (what every common writer produces).
    m_info.frame_count = (m_file_size - m_data_offset) / frame_bytes;
    m_info.duration_s = static_cast<double>(m_info.frame_count) / m_info.fps;
    m_payload.resize(payload_bytes());
}

Y4mReader::~Y4mReader() {
    if (m_file != nullptr) {
        std::fclose(m_file);
    }
}

size_t Y4mReader::payload_bytes() const {
    const size_t luma = static_cast<size_t>(m_header.width) * m_header.height;
    if (m_header.chroma == Y4mChroma::C444) {
        return luma * 3;
    }
    return luma +
           2 * static_cast<size_t>(chroma_extent(m_header.width)) * chroma_extent(m_header.height);
}

bool Y4mReader::read_frame_header() {
    std::string line;
    if (!read_line(m_file, line, kMaxHeaderBytes, m_path)) {
        return false;
    }
    if (line.compare(0, 5, kFrameMagic) != 0 || (line.size() > 5 && line[5] != ' ')) {
        fail(StatusCode::FormatError, "y4m file ", m_path, ": frame ", m_next,
             " does not start with FRAME (corrupt or wrong frame size)");
    }
    if (line.size() != 5) {
        m_plain_frame_headers = false;
    }
    return true;
}

bool Y4mReader::read(Frame& frame) {
    if (!read_frame_header()) {
        return false;
    }
    const size_t got = std::fread(m_payload.data(), 1, m_payload.size(), m_file);
    if (got != m_payload.size()) {
        fail(StatusCode::FormatError, "y4m file ", m_path, ": frame ", m_next, " is truncated (",
             got, " of ", m_payload.size(), " bytes)");
    }
    const int w = m_header.width;
    const int h = m_header.height;
    const YuvMatrix matrix = default_matrix_for(h);
    YuvPlanes planes;
    planes.y = m_payload.data();
    planes.y_stride = w;
    if (m_header.chroma == Y4mChroma::C444) {
        planes.u = planes.y + static_cast<size_t>(w) * h;
        planes.v = planes.u + static_cast<size_t>(w) * h;
        planes.uv_stride = w;
        yuv444p_to_rgb(planes, w, h, matrix, m_header.range, frame);
    } else {
        const size_t chroma = static_cast<size_t>(chroma_extent(w)) * chroma_extent(h);
        planes.u = planes.y + static_cast<size_t>(w) * h;
        planes.v = planes.u + chroma;
        planes.uv_stride = chroma_extent(w);
        yuv420p_to_rgb(planes, w, h, matrix, m_header.range, frame);
    }
    frame.index = m_next;
    frame.pts_s = static_cast<double>(m_next) / m_info.fps;
    ++m_next;
    return true;
}

void Y4mReader::seek(int64_t frame_index) {
    LIPAR_CHECK(frame_index >= 0, StatusCode::InvalidArgument, "cannot seek ", m_path,
                " to negative frame ", frame_index);
    const int64_t frame_bytes = static_cast<int64_t>(payload_bytes()) + 6;
    if (m_plain_frame_headers) {
        const int64_t offset = m_data_offset + frame_index * frame_bytes;
        if (fseeko(m_file, static_cast<off_t>(std::min(offset, m_file_size)), SEEK_SET) != 0) {
            fail(StatusCode::IoError, "cannot seek in ", m_path, ": ", std::strerror(errno));
        }
        char marker[6] = {0};
        const size_t got = std::fread(marker, 1, sizeof(marker), m_file);
        const bool at_frame = got == sizeof(marker) && std::memcmp(marker, "FRAME\n", 6) == 0;
        if (got == 0 || at_frame) {  // at the end, or on a plain frame header as expected
            fseeko(m_file, static_cast<off_t>(std::min(offset, m_file_size)), SEEK_SET);
            m_next = frame_index;
            return;
        }
        m_plain_frame_headers = false;
    }
    // Frame headers with parameters have variable length: walk from the first frame.
    if (fseeko(m_file, static_cast<off_t>(m_data_offset), SEEK_SET) != 0) {
        fail(StatusCode::IoError, "cannot seek in ", m_path, ": ", std::strerror(errno));
    }
    m_next = 0;
    while (m_next < frame_index && read_frame_header()) {
        if (fseeko(m_file, static_cast<off_t>(payload_bytes()), SEEK_CUR) != 0) {
            fail(StatusCode::IoError, "cannot seek in ", m_path, ": ", std::strerror(errno));
        }
        ++m_next;
    }
}

}  // namespace lipar::media
