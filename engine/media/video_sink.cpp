#include "media/video_sink.h"

#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "media/y4m.h"
#ifdef LIPAR_HAVE_FFMPEG
#include "media/ffmpeg/ffmpeg_encoder.h"
#endif

namespace lipar::media {

bool is_stream_url(const std::string& path) {
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const char* scheme : {"udp://", "srt://", "rtmp://", "rtmps://", "tcp://"}) {
        if (lower.rfind(scheme, 0) == 0) return true;
    }
    return false;
}

std::unique_ptr<VideoSink> open_video_sink(const std::string& path, const EncodeOptions& options) {
    LIPAR_CHECK(!path.empty(), StatusCode::InvalidArgument, "no output path given");
    std::string lower = path;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.size() >= 4 && lower.compare(lower.size() - 4, 4, ".y4m") == 0) {
        return std::make_unique<Y4mWriter>(path, options);
    }
#ifdef LIPAR_HAVE_FFMPEG
    return open_ffmpeg_sink(path, options);
#else
    fail(StatusCode::Unsupported, "cannot write ", path,
         ": this build has no FFmpeg; write a .y4m file instead (convert with: ffmpeg -i out.y4m "
         "out.mp4)");
#endif
}

}  // namespace lipar::media
