#pragma once
// Frame sources: video files (FFmpeg when built, YUV4MPEG2 always), webcams (media/camera.h).
// Frames come out as packed RGB24 lipar::Frame at the stream's size, one per frame slot of a
// constant frame rate: a file that stores only changed frames (AVI with empty packets) yields the
// previous picture again for each missing slot, so frame_count and read() agree.
//
// Threading: one thread uses a VideoSource at a time; different sources are independent.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lipar/frame.h"

namespace lipar::media {

struct VideoInfo {
    int width = 0, height = 0;
    double fps = 0;
    int64_t frame_count = -1;  // -1 unknown
    double duration_s = 0;
    std::string codec;
    std::string container;
    bool has_audio = false;
};

class VideoSource {  // one thread uses a VideoSource at a time
  public:
    virtual ~VideoSource() = default;
    virtual const VideoInfo& info() const = 0;
    // false at end of stream; throws lipar::Error on decode error
    virtual bool read(Frame& frame) = 0;
    // exact frame (decode from previous keyframe)
    virtual void seek(int64_t frame_index) = 0;
    virtual bool is_live() const { return false; }
};

// Opens by extension/content: .y4m -> Y4mReader (always available); anything else -> FFmpeg (when
// built). Throws Error(NotFound) for a missing file, Error(FormatError) "not a video" /
// Error(Unsupported) for a codec FFmpeg lacks, with the path in the message.
// ".mp4" for "/a/b/Clip.MP4"; "" without an extension.
std::string lower_extension(const std::string& path);

std::unique_ptr<VideoSource> open_video(const std::string& path);

// Reads up to max_frames (all when -1) frames from a file.
std::vector<Frame> read_video_frames(const std::string& path, int64_t max_frames = -1);

// Plays a finite source forever: at end of stream it seeks back to frame 0. Frame indices keep
// counting up across loops (so consumers see no gap); loops() tells how many wraps happened.
// Throws Error(FormatError) if the source yields no frame at all after a rewind.
class LoopingSource : public VideoSource {
  public:
    explicit LoopingSource(std::unique_ptr<VideoSource> inner);
    const VideoInfo& info() const override { return m_inner->info(); }
    bool read(Frame& frame) override;
    void seek(int64_t frame_index) override;
    bool is_live() const override { return m_inner->is_live(); }
    int64_t loops() const { return m_loops; }

  private:
    std::unique_ptr<VideoSource> m_inner;
    int64_t m_loops = 0;
    int64_t m_next_index = 0;
};

}  // namespace lipar::media
