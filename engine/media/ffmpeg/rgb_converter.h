#pragma once
// Decoded AVFrame (any pixel format, any size) -> packed RGB24 lipar::Frame through swscale,
// honouring the frame's colour matrix and range. Internal to the FFmpeg decoder; one thread.

#include <string>

#include "lipar/frame.h"
#include "media/ffmpeg/ffmpeg_util.h"

namespace lipar::media::ff {

class RgbConverter {
  public:
    // Converts src into dst at width x height (scaling when the sizes differ). Throws Unsupported
    // for a pixel format swscale cannot read; `what` names the file in that message.
    void convert(const AVFrame* src, int width, int height, Frame& dst, const std::string& what);

  private:
    SwsPtr m_sws;
    const SwsContext* m_configured = nullptr;
    int m_colorspace = -1;
    bool m_full_range = false;
};

}  // namespace lipar::media::ff
