#include "media/ffmpeg/ffmpeg_decoder.h"

#include <cmath>
#include <utility>

#include "core/log.h"
#include "media/ffmpeg/ffmpeg_util.h"
#include "media/ffmpeg/rgb_converter.h"

namespace lipar::media {
namespace {

// Consecutive packets the decoder may reject before the file counts as undecodable.
constexpr int kMaxDecodeErrorRun = 64;
// Longer runs of missing frame slots are treated as a timestamp jump, not filled with copies.
constexpr double kMaxGapFillSeconds = 60.0;

class FfmpegDecoder : public VideoSource {
  public:
    explicit FfmpegDecoder(std::string path) : m_path(std::move(path)) {
        open_streams();
        fill_info();
        prime();
    }

    const VideoInfo& info() const override { return m_info; }

    bool read(Frame& frame) override {
        for (;;) {
            if (!m_has_ahead) {
                if (!decode_next(m_scratch.get())) {
                    return false;
                }
                const int64_t slot = slot_of(m_scratch.get());
                if (slot < m_next) {
                    // Before the wanted slot (after a seek, or a duplicate timestamp): it only
                    // matters as the picture that fills a following gap.
                    std::swap(m_held, m_scratch);
                    m_has_held = true;
                    continue;
                }
                std::swap(m_ahead, m_scratch);
                m_has_ahead = true;
                m_ahead_slot = slot;
            }
            if (m_ahead_slot > m_next && m_has_held) {
                if (m_ahead_slot - m_next > m_max_gap_slots) {
                    LIPAR_LOG_WARN(m_path, ": timestamps jump from frame ", m_next, " to ",
                                   m_ahead_slot, "; not filling the gap");
                    m_next = m_ahead_slot;
                    continue;
                }
                convert(m_held.get(), frame);  // the previous picture stays on screen
            } else {
                convert(m_ahead.get(), frame);
                std::swap(m_held, m_ahead);
                m_has_held = true;
                m_has_ahead = false;
            }
            frame.index = m_next;
            frame.pts_s = static_cast<double>(m_next) * av_q2d(av_inv_q(m_rate));
            ++m_next;
            return true;
        }
    }

    void seek(int64_t frame_index) override {
        LIPAR_CHECK(frame_index >= 0, StatusCode::InvalidArgument, "cannot seek ", m_path,
                    " to negative frame ", frame_index);
        // Land on a keyframe at or before the target; if the demuxer's index puts us after it,
        // step further back, and finally restart from the beginning of the file.
        const int64_t target_ts =
            m_start_ts + av_rescale_q(frame_index, av_inv_q(m_rate), m_time_base);
        const int64_t back_step = av_rescale_q(1, AVRational{1, 1}, m_time_base);
        for (int attempt = 0; attempt < 4; ++attempt) {
            int64_t ts = target_ts - back_step * ((int64_t{1} << attempt) - 1);
            const bool at_start = ts <= m_start_ts;
            if (at_start) {
                ts = m_start_ts;
            }
            const int rc = av_seek_frame(m_fmt.get(), m_stream, ts, AVSEEK_FLAG_BACKWARD);
            if (rc < 0) {
                LIPAR_LOG_DEBUG(m_path, ": av_seek_frame failed (", ff::error_string(rc),
                                "); decoding from the start");
                break;
            }
            reset_decoding(frame_index);
            if (advance_to(frame_index) || at_start) {
                return;
            }
        }
        restart();
        reset_decoding(frame_index);
        advance_to(frame_index);
    }

  private:
    void open_streams() {
        m_fmt = ff::open_input(m_path);
        AVFormatContext* fmt = m_fmt.get();
        const AVCodec* decoder = nullptr;
        const int index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
        if (index == AVERROR_STREAM_NOT_FOUND) {
            fail(StatusCode::FormatError, "not a video: ", m_path, " has no video stream");
        }
        if (index < 0 || decoder == nullptr) {
            const AVStream* any = nullptr;
            for (unsigned i = 0; i < fmt->nb_streams; ++i) {
                if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
                    any = fmt->streams[i];
                    break;
                }
            }
            if (any == nullptr) {
                fail(StatusCode::FormatError, "not a video: ", m_path, " has no video stream");
            }
            fail(StatusCode::Unsupported, "video codec '",
                 avcodec_get_name(any->codecpar->codec_id), "' of ", m_path,
                 " is not supported by this FFmpeg build");
        }
        m_stream = index;
        AVStream* stream = fmt->streams[index];
        if (stream->disposition & AV_DISPOSITION_ATTACHED_PIC) {
            fail(StatusCode::FormatError, "not a video: ", m_path,
                 " has no video stream (only cover art)");
        }
        m_codec.reset(avcodec_alloc_context3(decoder));
        LIPAR_CHECK(m_codec, StatusCode::OutOfMemory, "avcodec_alloc_context3 failed");
        int rc = avcodec_parameters_to_context(m_codec.get(), stream->codecpar);
        LIPAR_CHECK(rc >= 0, StatusCode::FormatError, "bad codec parameters in ", m_path, ": ",
                    ff::error_string(rc));
        m_codec->pkt_timebase = stream->time_base;
        m_codec->thread_count = 0;
        rc = avcodec_open2(m_codec.get(), decoder, nullptr);
        if (rc < 0) {
            fail(StatusCode::Unsupported, "cannot open the '", decoder->name, "' decoder for ",
                 m_path, ": ", ff::error_string(rc));
        }
        m_time_base = stream->time_base;
        if (!m_packet) {
            m_packet = ff::make_packet();
            m_held = ff::make_frame();
            m_ahead = ff::make_frame();
            m_scratch = ff::make_frame();
        }
        m_demux_eof = false;
        m_decoder_eof = false;
    }

    void fill_info() {
        const AVStream* stream = m_fmt->streams[m_stream];
        m_rate = stream->avg_frame_rate;
        if (m_rate.num <= 0 || m_rate.den <= 0) {
            m_rate = stream->r_frame_rate;
        }
        if (m_rate.num <= 0 || m_rate.den <= 0) {
            LIPAR_LOG_WARN(m_path, ": no frame rate in the stream; assuming 25 fps");
            m_rate = AVRational{25, 1};
        }
        m_info.fps = av_q2d(m_rate);
        m_max_gap_slots = static_cast<int64_t>(kMaxGapFillSeconds * m_info.fps) + 1;
        m_info.width = stream->codecpar->width;
        m_info.height = stream->codecpar->height;
        m_info.codec = avcodec_get_name(stream->codecpar->codec_id);
        m_info.container = m_fmt->iformat != nullptr ? m_fmt->iformat->name : "";
        if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
            m_info.duration_s = static_cast<double>(stream->duration) * av_q2d(stream->time_base);
        } else if (m_fmt->duration != AV_NOPTS_VALUE && m_fmt->duration > 0) {
            m_info.duration_s = static_cast<double>(m_fmt->duration) / AV_TIME_BASE;
        }
        if (stream->nb_frames > 0) {
            m_info.frame_count = stream->nb_frames;
        } else if (m_info.duration_s > 0) {
            m_info.frame_count = std::llround(m_info.duration_s * m_info.fps);
        }
        if (m_info.duration_s <= 0 && m_info.frame_count > 0) {
            m_info.duration_s = static_cast<double>(m_info.frame_count) / m_info.fps;
        }
        for (unsigned i = 0; i < m_fmt->nb_streams; ++i) {
            if (m_fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
                m_info.has_audio = true;
            }
        }
    }

    // Decodes the first frame: proves the file is decodable and fixes where frame 0 is.
    void prime() {
        if (!decode_next(m_ahead.get())) {
            fail(StatusCode::FormatError, "not a video: no decodable frame in ", m_path);
        }
        const int64_t ts = timestamp_of(m_ahead.get());
        const AVStream* stream = m_fmt->streams[m_stream];
        m_start_ts = ts != AV_NOPTS_VALUE
                         ? ts
                         : (stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0);
        if (m_info.width <= 0 || m_info.height <= 0) {
            m_info.width = m_ahead->width;
            m_info.height = m_ahead->height;
        }
        m_has_ahead = true;
        m_ahead_slot = 0;
    }

    // Re-opens the file: the fallback for containers that cannot seek.
    void restart() {
        m_codec.reset();
        m_fmt.reset();
        open_streams();
    }

    void reset_decoding(int64_t next_index) {
        avcodec_flush_buffers(m_codec.get());
        m_demux_eof = false;
        m_decoder_eof = false;
        m_has_held = false;
        m_has_ahead = false;
        m_next = next_index;
    }

    // Decodes up to the frame for slot `index` (kept as held/ahead for read()); false when the
    // first frame decoded is already past the target, i.e. the seek landed too late.
    bool advance_to(int64_t index) {
        for (;;) {
            if (!decode_next(m_scratch.get())) {
                return true;  // past the end: read() reports end of stream
            }
            const int64_t slot = slot_of(m_scratch.get());
            if (slot < index) {
                std::swap(m_held, m_scratch);
                m_has_held = true;
                continue;
            }
            std::swap(m_ahead, m_scratch);
            m_has_ahead = true;
            m_ahead_slot = slot;
            return slot == index || m_has_held || index == 0;
        }
    }

    static int64_t timestamp_of(const AVFrame* frame) {
        return frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp
                                                              : frame->pts;
    }

    int64_t slot_of(const AVFrame* frame) const {
        const int64_t ts = timestamp_of(frame);
        if (ts == AV_NOPTS_VALUE) {
            return m_has_held || m_has_ahead ? m_next : 0;
        }
        return av_rescale_q_rnd(ts - m_start_ts, m_time_base, av_inv_q(m_rate),
                                static_cast<AVRounding>(AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX));
    }

    // Next decoded picture into `out`; false at end of stream (decoder drained).
    bool decode_next(AVFrame* out) {
        while (!m_decoder_eof) {
            int rc = avcodec_receive_frame(m_codec.get(), out);
            if (rc == 0) {
                if (out->format < 0 || out->width <= 0 || out->height <= 0) {
                    av_frame_unref(out);
                    continue;
                }
                m_error_run = 0;
                return true;
            }
            if (rc == AVERROR_EOF) {
                m_decoder_eof = true;
                break;
            }
            if (rc != AVERROR(EAGAIN)) {
                note_decode_error(rc);
                continue;
            }
            if (m_demux_eof) {
                // A decoder that wants input after the flush packet: nothing more will come.
                m_decoder_eof = true;
                break;
            }
            rc = av_read_frame(m_fmt.get(), m_packet.get());
            if (rc < 0) {
                if (rc != AVERROR_EOF) {
                    LIPAR_LOG_WARN(m_path, ": read error (", ff::error_string(rc),
                                   "); ending the stream here");
                }
                m_demux_eof = true;
                avcodec_send_packet(m_codec.get(), nullptr);  // drain
                continue;
            }
            if (m_packet->stream_index != m_stream) {
                av_packet_unref(m_packet.get());
                continue;
            }
            rc = avcodec_send_packet(m_codec.get(), m_packet.get());
            av_packet_unref(m_packet.get());
            if (rc < 0 && rc != AVERROR(EAGAIN)) {
                note_decode_error(rc);
            }
        }
        return false;
    }

    void note_decode_error(int rc) {
        ++m_error_run;
        LIPAR_LOG_DEBUG(m_path, ": decode error (", ff::error_string(rc), ")");
        if (m_error_run > kMaxDecodeErrorRun) {
            fail(StatusCode::FormatError, "cannot decode ", m_path, " after frame ", m_next, ": ",
                 ff::error_string(rc));
        }
    }

    void convert(const AVFrame* src, Frame& dst) {
        m_rgb.convert(src, m_info.width, m_info.height, dst, m_path);
    }

    std::string m_path;
    VideoInfo m_info;
    ff::FormatInputPtr m_fmt;
    ff::CodecContextPtr m_codec;
    ff::PacketPtr m_packet;
    ff::RgbConverter m_rgb;
    int m_stream = -1;
    AVRational m_time_base{1, 1};
    AVRational m_rate{25, 1};
    int64_t m_start_ts = 0;
    int64_t m_max_gap_slots = 0;
    // Decoded pictures: m_held is the latest one at or before slot m_next - 1 (what a gap repeats),
    // m_ahead the next one at or after slot m_next.
    ff::FramePtr m_held;
    ff::FramePtr m_ahead;
    ff::FramePtr m_scratch;
    bool m_has_held = false;
    bool m_has_ahead = false;
    int64_t m_ahead_slot = 0;
    int64_t m_next = 0;
    bool m_demux_eof = false;
    bool m_decoder_eof = false;
    int m_error_run = 0;
};

}  // namespace

std::unique_ptr<VideoSource> open_ffmpeg_video(const std::string& path) {
    return std::make_unique<FfmpegDecoder>(path);
}

}  // namespace lipar::media
