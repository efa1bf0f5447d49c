#pragma once
// FFmpeg-backed file decoding (libavformat + libavcodec + swscale to RGB24). Only compiled when
// the build found FFmpeg (LIPAR_HAVE_FFMPEG); open_video() in media/video_source.h dispatches here.

#include <memory>
#include <string>

#include "media/video_source.h"

namespace lipar::media {

// Opens a video file; decodes its first frame to validate it. Throws NotFound, FormatError
// ("not a video", no video stream, nothing decodable) or Unsupported (codec missing), each naming
// the path.
std::unique_ptr<VideoSource> open_ffmpeg_video(const std::string& path);

}  // namespace lipar::media
