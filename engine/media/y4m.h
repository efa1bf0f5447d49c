#pragma once
// YUV4MPEG2 (.y4m) reading and writing without any dependency: the raw path for machines without
// FFmpeg (convert with `ffmpeg -i in.mp4 -pix_fmt yuv420p out.y4m`, back with
// `ffmpeg -i out.y4m out.mp4`).
//
// Supported colour spaces: 4:2:0 8-bit (C420jpeg, C420mpeg2, C420paldv, C420, or no C tag) and
// 4:4:4 8-bit (C444). XCOLORRANGE=FULL selects full range (limited otherwise). The stream carries
// no matrix: BT.709 is assumed from 720 lines up, BT.601 below (as players do for untagged video).
// Frame headers may carry parameters; seek() is O(1) when none do, a scan otherwise.
//
// Threading: one thread per reader/writer.

#include <cstdio>
#include <string>
#include <vector>

#include "media/convert.h"
#include "media/video_sink.h"
#include "media/video_source.h"

namespace lipar::media {

enum class Y4mChroma { Invalid = 0, C420, C444 };

struct Y4mHeader {
    int width = 0;
    int height = 0;
    int fps_num = 0;
    int fps_den = 1;
    Y4mChroma chroma = Y4mChroma::C420;
    YuvRange range = YuvRange::Limited;
    bool interlaced = false;
};

// Parses the stream header line (without the trailing newline). Throws FormatError for a
// malformed line and Unsupported for colour spaces other than the ones above; `where` names the
// file in messages.
Y4mHeader parse_y4m_header(const std::string& line, const std::string& where);

class Y4mReader : public VideoSource {
  public:
    // Throws NotFound, FormatError (bad header), Unsupported (colour space).
    explicit Y4mReader(const std::string& path);
    ~Y4mReader() override;
    Y4mReader(const Y4mReader&) = delete;
    Y4mReader& operator=(const Y4mReader&) = delete;

    const VideoInfo& info() const override { return m_info; }
    // Throws FormatError for a truncated frame or a missing FRAME marker.
    bool read(Frame& frame) override;
    void seek(int64_t frame_index) override;
    const Y4mHeader& header() const { return m_header; }

  private:
    bool read_frame_header();
    size_t payload_bytes() const;

    std::string m_path;
    std::FILE* m_file = nullptr;
    Y4mHeader m_header;
    VideoInfo m_info;
    int64_t m_data_offset = 0;  // first byte after the stream header
    int64_t m_file_size = 0;
    int64_t m_next = 0;
    bool m_plain_frame_headers = true;  // every FRAME header seen so far was exactly "FRAME\n"
    std::vector<uint8_t> m_payload;
};

class Y4mWriter : public VideoSink {
  public:
    // Writes 4:2:0 (C420jpeg, limited range). Size from options or the first frame. Throws IoError
    // when the file cannot be created.
    Y4mWriter(const std::string& path, const EncodeOptions& options);
    ~Y4mWriter() override;
    Y4mWriter(const Y4mWriter&) = delete;
    Y4mWriter& operator=(const Y4mWriter&) = delete;

    void write(const Frame& frame) override;
    void close() override;
    int64_t frames_written() const override { return m_frames; }

  private:
    void write_header();

    std::string m_path;
    std::FILE* m_file = nullptr;
    int m_width = 0;
    int m_height = 0;
    double m_fps = 25;
    bool m_header_written = false;
    int64_t m_frames = 0;
    std::vector<uint8_t> m_payload;
};

// The rational form of a frame rate for container headers: 30000/1001 for 29.97, 25/1 for 25.
std::pair<int, int> fps_to_rational(double fps);

}  // namespace lipar::media
