#include "media/ffmpeg/ffmpeg_util.h"

#include <sys/stat.h>

#include <cstdio>
#include <mutex>

#include "core/log.h"

namespace lipar::media::ff {

std::string error_string(int errnum) {
    char buffer[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(errnum, buffer, sizeof(buffer));
    return buffer;
}

FramePtr make_frame() {
    FramePtr frame(av_frame_alloc());
    LIPAR_CHECK(frame, StatusCode::OutOfMemory, "av_frame_alloc failed");
    return frame;
}

PacketPtr make_packet() {
    PacketPtr packet(av_packet_alloc());
    LIPAR_CHECK(packet, StatusCode::OutOfMemory, "av_packet_alloc failed");
    return packet;
}

namespace {
void log_callback(void* avcl, int level, const char* fmt, va_list args) {
    if (level > AV_LOG_WARNING) {
        return;
    }
    // FFmpeg errors surface as a lipar::Error with their message; its log lines are detail.
    const LogLevel ours = level <= AV_LOG_ERROR ? LogLevel::Info : LogLevel::Debug;
    if (!log_enabled(ours)) {
        return;
    }
    char line[1024];
    int prefix = 1;
    av_log_format_line2(avcl, level, fmt, args, line, sizeof(line), &prefix);
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    if (!text.empty()) {
        log_message(ours, "ffmpeg: " + text);
    }
}
}  // namespace

void install_log_bridge() {
    static std::once_flag once;
    std::call_once(once, [] { av_log_set_callback(log_callback); });
}

FormatInputPtr open_input(const std::string& path) {
    install_log_bridge();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        fail(StatusCode::NotFound, "video file not found: ", path);
    }
    if (S_ISDIR(st.st_mode)) {
        fail(StatusCode::FormatError, "not a video: ", path, " is a directory");
    }
    if (st.st_size == 0) {
        fail(StatusCode::FormatError, "not a video: ", path, " is empty");
    }
    AVFormatContext* raw = nullptr;
    int rc = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
    if (rc < 0) {
        if (rc == AVERROR(ENOENT)) {
            fail(StatusCode::NotFound, "video file not found: ", path);
        }
        if (rc == AVERROR(EACCES)) {
            fail(StatusCode::IoError, "cannot read ", path, ": permission denied");
        }
        fail(StatusCode::FormatError, "not a video: ", path, " (", error_string(rc), ")");
    }
    FormatInputPtr ctx(raw);
    rc = avformat_find_stream_info(ctx.get(), nullptr);
    if (rc < 0) {
        fail(StatusCode::FormatError, "not a video: ", path,
             " (cannot read stream info: ", error_string(rc), ")");
    }
    return ctx;
}

int sws_colorspace_for(AVColorSpace space, int height) {
    switch (space) {
        case AVCOL_SPC_BT709:
            return SWS_CS_ITU709;
        case AVCOL_SPC_FCC:
            return SWS_CS_FCC;
        case AVCOL_SPC_BT470BG:
        case AVCOL_SPC_SMPTE170M:
            return SWS_CS_ITU601;
        case AVCOL_SPC_SMPTE240M:
            return SWS_CS_SMPTE240M;
        case AVCOL_SPC_BT2020_NCL:
        case AVCOL_SPC_BT2020_CL:
            return SWS_CS_BT2020;
        default:
            return height >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    }
}

}  // namespace lipar::media::ff
