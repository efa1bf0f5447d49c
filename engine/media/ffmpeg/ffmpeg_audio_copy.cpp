#include "media/ffmpeg/ffmpeg_audio_copy.h"

#include "core/log.h"

namespace lipar::media::ff {

AudioCopy::AudioCopy(const std::string& source, AVFormatContext* output)
    : m_source(source), m_output(output) {
    m_input = open_input(source);
    m_in_index = av_find_best_stream(m_input.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (m_in_index < 0) {
        LIPAR_LOG_INFO(source, " has no audio track; the output has none either");
        return;
    }
    const AVStream* in = m_input->streams[m_in_index];
    const AVCodecID codec = in->codecpar->codec_id;
    if (avformat_query_codec(output->oformat, codec, FF_COMPLIANCE_NORMAL) != 1) {
        LIPAR_LOG_WARN("audio codec '", avcodec_get_name(codec), "' of ", source,
                       " cannot be stored in ", output->oformat->name, "; writing without audio");
        return;
    }
    m_out_stream = avformat_new_stream(output, nullptr);
    LIPAR_CHECK(m_out_stream, StatusCode::OutOfMemory, "avformat_new_stream failed");
    int rc = avcodec_parameters_copy(m_out_stream->codecpar, in->codecpar);
    LIPAR_CHECK(rc >= 0, StatusCode::Internal, "cannot copy audio parameters: ", error_string(rc));
    m_out_stream->codecpar->codec_tag = 0;
    m_out_stream->time_base = in->time_base;
    m_start_ts = in->start_time != AV_NOPTS_VALUE ? in->start_time : 0;
    m_packet = make_packet();
    m_active = true;
}

void AudioCopy::write_until(double end_s) {
    if (!m_active) {
        return;
    }
    const AVStream* in = m_input->streams[m_in_index];
    const int64_t end_ts = m_start_ts + static_cast<int64_t>(end_s / av_q2d(in->time_base));
    while (!m_eof) {
        if (!m_pending) {
            const int rc = av_read_frame(m_input.get(), m_packet.get());
            if (rc < 0) {
                m_eof = true;
                break;
            }
            if (m_packet->stream_index != m_in_index) {
                av_packet_unref(m_packet.get());
                continue;
            }
            m_pending = true;
        }
        const int64_t ts = m_packet->pts != AV_NOPTS_VALUE ? m_packet->pts : m_packet->dts;
        if (ts != AV_NOPTS_VALUE && ts >= end_ts) {
            return;  // keep it for a later call
        }
        m_pending = false;
        if (ts == AV_NOPTS_VALUE || ts < m_start_ts) {
            av_packet_unref(m_packet.get());
            continue;
        }
        if (m_packet->pts != AV_NOPTS_VALUE) {
            m_packet->pts -= m_start_ts;
        }
        if (m_packet->dts != AV_NOPTS_VALUE) {
            m_packet->dts -= m_start_ts;
        }
        av_packet_rescale_ts(m_packet.get(), in->time_base, m_out_stream->time_base);
        m_packet->stream_index = m_out_stream->index;
        m_packet->pos = -1;
        const int rc = av_interleaved_write_frame(m_output, m_packet.get());
        if (rc < 0) {
            LIPAR_LOG_WARN("dropping audio from ", m_source, ": ", error_string(rc));
            m_active = false;
            return;
        }
    }
}

}  // namespace lipar::media::ff
