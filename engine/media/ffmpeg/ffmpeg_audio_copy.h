#pragma once
// Copies (remuxes) the audio stream of one file into an output being muxed, trimmed to the video's
// length. Internal to the FFmpeg encoder.

#include <string>

#include "media/ffmpeg/ffmpeg_util.h"

namespace lipar::media::ff {

class AudioCopy {
  public:
    // Opens `source` and adds a stream-copied audio stream to `output` (before its header is
    // written). When the file has no audio, or the container cannot hold the codec, active()
    // is false and a message was logged. Throws NotFound/FormatError for an unreadable source.
    AudioCopy(const std::string& source, AVFormatContext* output);
    bool active() const { return m_active; }
    // Writes the source's audio packets that start before end_s (seconds of output time).
    void write_until(double end_s);

  private:
    std::string m_source;
    AVFormatContext* m_output = nullptr;
    FormatInputPtr m_input;
    PacketPtr m_packet;
    int m_in_index = -1;
    AVStream* m_out_stream = nullptr;
    int64_t m_start_ts = 0;
    bool m_active = false;
    bool m_pending = false;  // m_packet holds a packet not yet written
    bool m_eof = false;
};

}  // namespace lipar::media::ff
