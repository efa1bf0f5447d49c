#include "media/ffmpeg/ffmpeg_encoder.h"

extern "C" {
#include <libavutil/opt.h>
}

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/log.h"
#include "media/ffmpeg/ffmpeg_audio_copy.h"
#include "media/ffmpeg/ffmpeg_util.h"
#include "media/video_source.h"
#include "media/y4m.h"

namespace lipar::media {
namespace {


const AVCodec* find_encoder(const std::string& name) {
    if (name == "auto" || name.empty()) {
        const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
        return codec != nullptr ? codec : avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    }
    const AVCodec* codec = avcodec_find_encoder_by_name(name.c_str());
    if (codec == nullptr) {
        const AVCodecDescriptor* desc = avcodec_descriptor_get_by_name(name.c_str());
        if (desc != nullptr) {
            codec = avcodec_find_encoder(desc->id);
        }
    }
    return codec != nullptr && codec->type == AVMEDIA_TYPE_VIDEO ? codec : nullptr;
}

// Container of a network stream by its scheme: FLV for RTMP, MPEG-TS otherwise.
const char* stream_format(const std::string& url) {
    std::string lower = url;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.rfind("rtmp", 0) == 0 ? "flv" : "mpegts";
}

struct OutputDeleter {
    void operator()(AVFormatContext* ctx) const {
        if (ctx->pb != nullptr && !(ctx->oformat->flags & AVFMT_NOFILE)) {
            avio_closep(&ctx->pb);
        }
        avformat_free_context(ctx);
    }
};

class FfmpegEncoder : public VideoSink {
  public:
    FfmpegEncoder(std::string path, const EncodeOptions& options)
        : m_path(std::move(path)), m_options(options) {
        ff::install_log_bridge();
        fps_to_rational(options.fps);  // validates the rate
        LIPAR_CHECK(options.width >= 0 && options.height >= 0, StatusCode::InvalidArgument,
                    "bad output size ", options.width, "x", options.height, " for ", m_path);
        m_encoder = find_encoder(options.codec);
        if (m_encoder == nullptr) {
            fail(StatusCode::Unsupported, "video encoder '", options.codec,
                 "' is not available in this FFmpeg build (writing ", m_path, ")");
        }
        if (options.width > 0 && options.height > 0) {
            open_or_clean_up(options.width, options.height);
        }
    }

    ~FfmpegEncoder() override {
        try {
            close();
        } catch (const std::exception& e) {
            LIPAR_LOG_ERROR("finishing ", m_path, ": ", e.what());
        }
    }

    void write(const Frame& frame) override {
        LIPAR_CHECK(!m_closed, StatusCode::InvalidArgument, "write to closed sink ", m_path);
        LIPAR_CHECK(!frame.empty() && frame.rgb.size() >= frame.byte_size(),
                    StatusCode::InvalidArgument, "empty frame written to ", m_path);
        if (!m_output) {
            open_or_clean_up(frame.width, frame.height);
        }
        LIPAR_CHECK(frame.width == m_width && frame.height == m_height, StatusCode::InvalidArgument,
                    "frame of ", frame.width, "x", frame.height, " written to ", m_path,
                    " which is ", m_width, "x", m_height);
        int rc = av_frame_make_writable(m_yuv.get());
        LIPAR_CHECK(rc >= 0, StatusCode::OutOfMemory,
                    "av_frame_make_writable: ", ff::error_string(rc));
        // swscale's SIMD input readers may load a few bytes past the last row (a segfault when
        // the frame's buffer ends at a page boundary, seen under ThreadSanitizer's allocator):
        // they read from a copy with room after it.
        const size_t bytes = frame.byte_size();
        if (m_rgb_padded.size() < bytes + kSwsPadding) m_rgb_padded.resize(bytes + kSwsPadding);
        std::memcpy(m_rgb_padded.data(), frame.rgb.data(), bytes);
        const uint8_t* src[4] = {m_rgb_padded.data(), nullptr, nullptr, nullptr};
        const int src_stride[4] = {frame.width * 3, 0, 0, 0};
        sws_scale(m_sws.get(), src, src_stride, 0, frame.height, m_yuv->data, m_yuv->linesize);
        m_yuv->pts = m_frames;
        encode(m_yuv.get());
        ++m_frames;
    }

    void close() override {
        if (m_closed) {
            return;
        }
        m_closed = true;
        if (!m_output) {
            LIPAR_LOG_WARN("no frame was written to ", m_path, "; no file created");
            return;
        }
        encode(nullptr);
        if (m_audio) {
            m_audio->write_until(static_cast<double>(m_frames) / m_options.fps);
        }
        const int rc = av_write_trailer(m_output.get());
        m_output.reset();  // closes the file
        LIPAR_CHECK(rc >= 0, StatusCode::IoError, "cannot finish ", m_path, ": ",
                    ff::error_string(rc));
    }

    int64_t frames_written() const override { return m_frames; }

  private:
    void open_or_clean_up(int width, int height) {
        try {
            open(width, height);
        } catch (...) {
            m_audio.reset();
            m_sws.reset();
            m_codec.reset();
            m_output.reset();
            throw;
        }
    }

    void open(int width, int height) {
        LIPAR_CHECK(width > 0 && height > 0, StatusCode::InvalidArgument, "bad output size ", width,
                    "x", height, " for ", m_path);
        m_width = width;
        m_height = height;
        const std::string ext = lower_extension(m_path);
        m_stream_out = is_stream_url(m_path);
        const char* format_name = m_stream_out       ? stream_format(m_path)
                                  : ext == ".mp4"    ? "mp4"
                                  : ext == ".mkv"    ? "matroska"
                                                     : nullptr;
        AVFormatContext* raw = nullptr;
        int rc = avformat_alloc_output_context2(&raw, nullptr, format_name, m_path.c_str());
        if (rc < 0 || raw == nullptr) {
            fail(StatusCode::Unsupported, "no container format for ", m_path,
                 " (use .mp4, .mkv or .y4m)");
        }
        m_output.reset(raw);
        AVFormatContext* oc = m_output.get();

        // 4:2:0 needs even sides; odd frames are scaled by one pixel.
        const int enc_w = (width + 1) & ~1;
        const int enc_h = (height + 1) & ~1;
        const auto [fps_num, fps_den] = fps_to_rational(m_options.fps);
        m_codec.reset(avcodec_alloc_context3(m_encoder));
        LIPAR_CHECK(m_codec, StatusCode::OutOfMemory, "avcodec_alloc_context3 failed");
        AVCodecContext* c = m_codec.get();
        c->width = enc_w;
        c->height = enc_h;
        c->time_base = AVRational{fps_den, fps_num};
        c->framerate = AVRational{fps_num, fps_den};
        c->pix_fmt = AV_PIX_FMT_YUV420P;
        c->sample_aspect_ratio = AVRational{1, 1};
        // A keyframe (hence an MP4 fragment) every second bounds what a crash can lose; a stream
        // gets one every half second so that a receiver joining late starts quickly.
        c->gop_size = std::max(1, static_cast<int>(std::lround(m_options.fps / (m_stream_out ? 2 : 1))));
        if (m_stream_out) c->max_b_frames = 0;
        const bool hd = enc_h >= 720;
        c->colorspace = hd ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
        c->color_primaries = hd ? AVCOL_PRI_BT709 : AVCOL_PRI_SMPTE170M;
        c->color_trc = hd ? AVCOL_TRC_BT709 : AVCOL_TRC_SMPTE170M;
        c->color_range = AVCOL_RANGE_MPEG;
        c->thread_count = 0;
        const int quality = std::clamp(m_options.crf_or_quality, 0, 51);
        if (std::string(m_encoder->name) == "libx264") {
            av_opt_set(c->priv_data, "preset", m_stream_out ? "ultrafast" : "veryfast", 0);
            if (m_stream_out) av_opt_set(c->priv_data, "tune", "zerolatency", 0);
            av_opt_set_int(c->priv_data, "crf", quality, 0);
        } else {
            c->flags |= AV_CODEC_FLAG_QSCALE;
            const int q = std::clamp(static_cast<int>(std::lround(quality / 6.0)), 2, 31);
            c->global_quality = FF_QP2LAMBDA * q;
            c->bit_rate = 0;
        }
        if (oc->oformat->flags & AVFMT_GLOBALHEADER) {
            c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        }
        rc = avcodec_open2(c, m_encoder, nullptr);
        if (rc < 0) {
            fail(StatusCode::Unsupported, "cannot open the ", m_encoder->name, " encoder for ",
                 enc_w, "x", enc_h, " at ", m_options.fps, " fps (", m_path,
                 "): ", ff::error_string(rc));
        }
        m_stream = avformat_new_stream(oc, nullptr);
        LIPAR_CHECK(m_stream, StatusCode::OutOfMemory, "avformat_new_stream failed");
        rc = avcodec_parameters_from_context(m_stream->codecpar, c);
        LIPAR_CHECK(rc >= 0, StatusCode::Internal,
                    "avcodec_parameters_from_context: ", ff::error_string(rc));
        m_stream->time_base = c->time_base;
        m_stream->avg_frame_rate = c->framerate;

        if (!m_options.audio_from.empty()) {
            m_audio = std::make_unique<ff::AudioCopy>(m_options.audio_from, oc);
            if (!m_audio->active()) {
                m_audio.reset();
            }
        }

        if (!(oc->oformat->flags & AVFMT_NOFILE)) {
            AVDictionary* io_opts = nullptr;
            if (m_stream_out) {
                avformat_network_init();
                // A receiver that does not answer must not hang the editor: give up after 5 s.
                // (Options by protocol: RTMP's own "timeout" would make it listen instead.)
                std::string scheme = m_path.substr(0, m_path.find("://"));
                std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                               [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
                av_dict_set(&io_opts, "rw_timeout", "5000000", 0);  // microseconds
                if (scheme == "tcp") av_dict_set(&io_opts, "timeout", "5000000", 0);
                if (scheme == "srt") {
                    av_dict_set(&io_opts, "connect_timeout", "5000", 0);  // milliseconds
                    // SRT drops what is still unsent when the caller closes: let the end go out.
                    av_dict_set(&io_opts, "linger", "2", 0);
                }
            }
            rc = avio_open2(&oc->pb, m_path.c_str(), AVIO_FLAG_WRITE, nullptr, &io_opts);
            av_dict_free(&io_opts);
            if (rc < 0) {
                fail(StatusCode::IoError, m_stream_out ? "cannot reach the stream target "
                                                       : "cannot create ",
                     m_path, ": ", ff::error_string(rc));
            }
        }
        AVDictionary* opts = nullptr;
        if (std::string(oc->oformat->name) == "mp4") {
            av_dict_set(&opts, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
        }
        // Hand every completed fragment/cluster to the OS at once, so a killed process loses
        // only the fragment in progress.
        av_dict_set(&opts, "flush_packets", "1", 0);
        rc = avformat_write_header(oc, &opts);
        av_dict_free(&opts);
        if (rc < 0) {
            fail(StatusCode::IoError, "cannot write the header of ", m_path, ": ",
                 ff::error_string(rc));
        }

        m_yuv = ff::make_frame();
        m_yuv->format = AV_PIX_FMT_YUV420P;
        m_yuv->width = enc_w;
        m_yuv->height = enc_h;
        rc = av_frame_get_buffer(m_yuv.get(), 0);
        LIPAR_CHECK(rc >= 0, StatusCode::OutOfMemory,
                    "av_frame_get_buffer: ", ff::error_string(rc));
        m_sws.reset(sws_getContext(width, height, AV_PIX_FMT_RGB24, enc_w, enc_h,
                                   AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr));
        LIPAR_CHECK(m_sws, StatusCode::Internal, "sws_getContext RGB24->yuv420p failed");
        const int* matrix = sws_getCoefficients(hd ? SWS_CS_ITU709 : SWS_CS_ITU601);
        sws_setColorspaceDetails(m_sws.get(), sws_getCoefficients(SWS_CS_DEFAULT), 1, matrix, 0, 0,
                                 1 << 16, 1 << 16);
        m_packet = ff::make_packet();
        LIPAR_LOG_INFO("writing ", m_path, " with ", m_encoder->name, " ", enc_w, "x", enc_h, " @ ",
                       m_options.fps, " fps", m_audio ? " (+ audio copy)" : "");
    }

    void encode(const AVFrame* frame) {
        int rc = avcodec_send_frame(m_codec.get(), frame);
        LIPAR_CHECK(rc >= 0 || (frame == nullptr && rc == AVERROR_EOF), StatusCode::Internal,
                    "encoding ", m_path, ": ", ff::error_string(rc));
        for (;;) {
            rc = avcodec_receive_packet(m_codec.get(), m_packet.get());
            if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
                return;
            }
            LIPAR_CHECK(rc >= 0, StatusCode::Internal, "encoding ", m_path, ": ",
                        ff::error_string(rc));
            av_packet_rescale_ts(m_packet.get(), m_codec->time_base, m_stream->time_base);
            m_packet->stream_index = m_stream->index;
            if (m_audio && m_packet->pts != AV_NOPTS_VALUE) {
                m_audio->write_until(static_cast<double>(m_packet->pts) *
                                     av_q2d(m_stream->time_base));
            }
            rc = av_interleaved_write_frame(m_output.get(), m_packet.get());
            LIPAR_CHECK(rc >= 0, StatusCode::IoError,
                        m_stream_out ? "the stream to " : "cannot write ", m_path,
                        m_stream_out ? " broke off: " : ": ", ff::error_string(rc));
        }
    }

    std::string m_path;
    EncodeOptions m_options;
    const AVCodec* m_encoder = nullptr;
    std::unique_ptr<AVFormatContext, OutputDeleter> m_output;
    ff::CodecContextPtr m_codec;
    AVStream* m_stream = nullptr;
    ff::FramePtr m_yuv;
    ff::PacketPtr m_packet;
    ff::SwsPtr m_sws;
    static constexpr size_t kSwsPadding = 64;
    std::vector<uint8_t> m_rgb_padded;  // the frame being converted, with room after it
    std::unique_ptr<ff::AudioCopy> m_audio;
    int m_width = 0;
    int m_height = 0;
    int64_t m_frames = 0;
    bool m_closed = false;
    bool m_stream_out = false;  // a network stream, not a file
};

}  // namespace

std::string default_video_encoder() {
    return avcodec_find_encoder_by_name("libx264") != nullptr ? "libx264" : "mpeg4";
}

std::unique_ptr<VideoSink> open_ffmpeg_sink(const std::string& path, const EncodeOptions& options) {
    return std::make_unique<FfmpegEncoder>(path, options);
}

}  // namespace lipar::media
