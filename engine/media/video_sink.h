#pragma once
// Frame sinks: encoded files (FFmpeg when built) and YUV4MPEG2 (always).
//
// Threading: one thread uses a VideoSink at a time. Destroying a sink without close() still
// finishes the file (flushes the encoder and writes the trailer); errors there are logged.

#include <cstdint>
#include <memory>
#include <string>

#include "lipar/frame.h"

namespace lipar::media {

struct EncodeOptions {
    int width = 0, height = 0;  // 0: the size of the first frame written
    double fps = 25;
    // auto: H.264 (libx264) when present, else MPEG-4 Part 2; or an FFmpeg encoder name
    std::string codec = "auto";
    int crf_or_quality = 20;  // libx264 CRF; for other encoders mapped onto their quantizer
    std::string audio_from;   // copy the audio track of this file when it has one
};

class VideoSink {
  public:
    virtual ~VideoSink() = default;
    // Frames must all have the sink's size; throws InvalidArgument otherwise.
    virtual void write(const Frame& frame) = 0;
    virtual void close() = 0;  // idempotent
    virtual int64_t frames_written() const = 0;
};

// .mp4 -> fragmented MP4 (movflags frag_keyframe+empty_moov+default_base_moof, so a killed
// recording stays playable up to the last flushed fragment); .mkv -> Matroska; .y4m -> Y4mWriter
// (no FFmpeg). Other extensions go to FFmpeg's guess for the name. Network streams (see
// is_stream_url): udp://, srt:// and tcp:// carry MPEG-TS, rtmp:// FLV, encoded for low latency
// (H.264 zerolatency, no B-frames, a keyframe every half second); OBS's Media Source and ffplay
// open them. Throws Unsupported for an encoded format in a build without FFmpeg, IoError when the
// file cannot be created or the stream target cannot be reached (a refused connection, an
// unknown host; a receiver that goes away makes a later write() throw IoError).
std::unique_ptr<VideoSink> open_video_sink(const std::string& path, const EncodeOptions& options);

// "udp://host:port", "srt://...", "rtmp://...", "rtmps://...", "tcp://..." (any case).
bool is_stream_url(const std::string& path);

}  // namespace lipar::media
