#pragma once
// FFmpeg-backed encoding (swscale RGB24 -> yuv420p, libavcodec, libavformat muxing, optional
// audio stream copy). Only compiled with LIPAR_HAVE_FFMPEG; open_video_sink() dispatches here.

#include <memory>
#include <string>

#include "media/video_sink.h"

namespace lipar::media {

// Creates the encoder; the file is created here when options give a size, else at the first
// write(). Throws Unsupported for an unknown codec, InvalidArgument for a bad option, IoError when
// the file cannot be created.
std::unique_ptr<VideoSink> open_ffmpeg_sink(const std::string& path, const EncodeOptions& options);

// The encoder "auto" resolves to in this build: "libx264" when present, else "mpeg4".
std::string default_video_encoder();

}  // namespace lipar::media
