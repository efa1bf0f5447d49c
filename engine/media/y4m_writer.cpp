#include <cerrno>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/log.h"
#include "media/y4m.h"

namespace lipar::media {

std::pair<int, int> fps_to_rational(double fps) {
    LIPAR_CHECK(std::isfinite(fps) && fps > 0 && fps <= 1000, StatusCode::InvalidArgument,
                "frame rate ", fps, " is out of range (0, 1000]");
    const double rounded = std::round(fps);
    if (std::abs(fps - rounded) < 1e-6) {
        return {static_cast<int>(rounded), 1};
    }
    const double ntsc = std::round(fps * 1.001);
    if (std::abs(fps - ntsc / 1.001) < 1e-3) {
        return {static_cast<int>(ntsc) * 1000, 1001};
    }
    const int num = static_cast<int>(std::lround(fps * 1000));
    const int g = std::gcd(num, 1000);
    return {num / g, 1000 / g};
}

Y4mWriter::Y4mWriter(const std::string& path, const EncodeOptions& options)
    : m_path(path), m_width(options.width), m_height(options.height), m_fps(options.fps) {
    fps_to_rational(m_fps);  // validates
    LIPAR_CHECK(m_width >= 0 && m_height >= 0, StatusCode::InvalidArgument, "bad output size ",
                m_width, "x", m_height, " for ", path);
    m_file = std::fopen(path.c_str(), "wb");
    if (m_file == nullptr) {
        fail(StatusCode::IoError, "cannot create ", path, ": ", std::strerror(errno));
    }
}

Y4mWriter::~Y4mWriter() {
    try {
        close();
    } catch (const std::exception& e) {
        LIPAR_LOG_ERROR("closing ", m_path, ": ", e.what());
    }
}

void Y4mWriter::write_header() {
    const auto [num, den] = fps_to_rational(m_fps);
    const std::string header = str_cat("YUV4MPEG2 W", m_width, " H", m_height, " F", num, ":", den,
                                       " Ip A1:1 C420jpeg XYSCSS=420JPEG\n");
    if (std::fwrite(header.data(), 1, header.size(), m_file) != header.size()) {
        fail(StatusCode::IoError, "cannot write ", m_path, ": ", std::strerror(errno));
    }
    const size_t luma = static_cast<size_t>(m_width) * m_height;
    m_payload.resize(luma +
                     2 * static_cast<size_t>(chroma_extent(m_width)) * chroma_extent(m_height));
    m_header_written = true;
}

void Y4mWriter::write(const Frame& frame) {
    LIPAR_CHECK(m_file != nullptr, StatusCode::InvalidArgument, "write to closed sink ", m_path);
    LIPAR_CHECK(!frame.empty() && frame.rgb.size() >= frame.byte_size(),
                StatusCode::InvalidArgument, "empty frame written to ", m_path);
    if (!m_header_written) {
        if (m_width == 0 || m_height == 0) {
            m_width = frame.width;
            m_height = frame.height;
        }
        write_header();
    }
    LIPAR_CHECK(frame.width == m_width && frame.height == m_height, StatusCode::InvalidArgument,
                "frame of ", frame.width, "x", frame.height, " written to ", m_path, " which is ",
                m_width, "x", m_height);
    MutableYuvPlanes planes;
    planes.y = m_payload.data();
    planes.u = planes.y + static_cast<size_t>(m_width) * m_height;
    planes.v = planes.u + static_cast<size_t>(chroma_extent(m_width)) * chroma_extent(m_height);
    planes.y_stride = m_width;
    planes.uv_stride = chroma_extent(m_width);
    rgb_to_yuv420p(frame, planes, default_matrix_for(m_height), YuvRange::Limited);
    static const char kFrame[] = "FRAME\n";
    if (std::fwrite(kFrame, 1, 6, m_file) != 6 ||
        std::fwrite(m_payload.data(), 1, m_payload.size(), m_file) != m_payload.size()) {
        fail(StatusCode::IoError, "cannot write ", m_path, ": ", std::strerror(errno));
    }
    ++m_frames;
}

void Y4mWriter::close() {
    if (m_file == nullptr) {
        return;
    }
    if (!m_header_written && m_width > 0 && m_height > 0) {
        write_header();  // an empty but well-formed stream
    }
    std::FILE* file = m_file;
    m_file = nullptr;
    const bool ok = std::fclose(file) == 0;
    LIPAR_CHECK(ok, StatusCode::IoError, "cannot finish ", m_path, ": ", std::strerror(errno));
}

}  // namespace lipar::media
