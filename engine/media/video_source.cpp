#include "media/video_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "core/error.h"
#include "media/y4m.h"
#ifdef LIPAR_HAVE_FFMPEG
#include "media/ffmpeg/ffmpeg_decoder.h"
#endif

namespace lipar::media {
namespace {


bool starts_with_y4m_magic(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[10] = {0};
    in.read(magic, sizeof(magic));
    return in.gcount() == sizeof(magic) && std::string(magic, sizeof(magic)) == "YUV4MPEG2 ";
}

}  // namespace

std::string lower_extension(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    const size_t dot = path.find_last_of('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
        return "";
    }
    std::string ext = path.substr(dot);
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

std::unique_ptr<VideoSource> open_video(const std::string& path) {
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) {
        fail(StatusCode::NotFound, "video file not found: ", path.empty() ? "(empty path)" : path);
    }
    if (lower_extension(path) == ".y4m" || starts_with_y4m_magic(path)) {
        return std::make_unique<Y4mReader>(path);
    }
#ifdef LIPAR_HAVE_FFMPEG
    return open_ffmpeg_video(path);
#else
    fail(StatusCode::Unsupported, "cannot open ", path,
         ": this build has no FFmpeg; only YUV4MPEG2 (.y4m) files can be read "
         "(convert with: ffmpeg -i input -pix_fmt yuv420p output.y4m)");
#endif
}

std::vector<Frame> read_video_frames(const std::string& path, int64_t max_frames) {
    auto source = open_video(path);
    std::vector<Frame> frames;
    if (source->info().frame_count > 0) {
        int64_t expected = source->info().frame_count;
        if (max_frames >= 0) {
            expected = std::min(expected, max_frames);
        }
        frames.reserve(static_cast<size_t>(std::min<int64_t>(expected, 100000)));
    }
    while (max_frames < 0 || static_cast<int64_t>(frames.size()) < max_frames) {
        Frame frame;
        if (!source->read(frame)) {
            break;
        }
        frames.push_back(std::move(frame));
    }
    return frames;
}

LoopingSource::LoopingSource(std::unique_ptr<VideoSource> inner) : m_inner(std::move(inner)) {
    LIPAR_CHECK(m_inner != nullptr, StatusCode::InvalidArgument, "LoopingSource needs a source");
}

bool LoopingSource::read(Frame& frame) {
    if (!m_inner->read(frame)) {
        if (m_inner->is_live()) {
            return false;
        }
        m_inner->seek(0);
        ++m_loops;
        if (!m_inner->read(frame)) {
            fail(StatusCode::FormatError, "looping source yields no frame after rewinding");
        }
    }
    frame.index = m_next_index++;
    if (info().fps > 0) {
        frame.pts_s = static_cast<double>(frame.index) / info().fps;
    }
    return true;
}

void LoopingSource::seek(int64_t frame_index) {
    m_inner->seek(frame_index);
    m_next_index = frame_index;
}

}  // namespace lipar::media
