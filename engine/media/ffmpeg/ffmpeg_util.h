#pragma once
// Small RAII and error helpers shared by the FFmpeg decoder and encoder (FFmpeg 4.4 - 7.x).

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>

#include "core/error.h"

namespace lipar::media::ff {

// "Invalid data found when processing input" for an AVERROR code.
std::string error_string(int errnum);

struct FormatInputDeleter {
    void operator()(AVFormatContext* ctx) const { avformat_close_input(&ctx); }
};
struct CodecContextDeleter {
    void operator()(AVCodecContext* ctx) const { avcodec_free_context(&ctx); }
};
struct FrameDeleter {
    void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
struct PacketDeleter {
    void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
struct SwsDeleter {
    void operator()(SwsContext* ctx) const { sws_freeContext(ctx); }
};

using FormatInputPtr = std::unique_ptr<AVFormatContext, FormatInputDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;

FramePtr make_frame();
PacketPtr make_packet();

// Routes FFmpeg's own log lines into lipar's log (warnings and errors only) once per process.
void install_log_bridge();

// Opens a file for demuxing and reads its stream info; throws NotFound / FormatError naming path.
FormatInputPtr open_input(const std::string& path);

// The swscale colour matrix to use for a frame: its tagged colour space, else BT.709 for HD sizes
// and BT.601 below (what players assume for untagged streams).
int sws_colorspace_for(AVColorSpace space, int height);

}  // namespace lipar::media::ff
