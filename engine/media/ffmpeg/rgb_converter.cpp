#include "media/ffmpeg/rgb_converter.h"

namespace lipar::media::ff {
namespace {

bool is_full_range(const AVFrame* frame) {
    switch (frame->format) {
        case AV_PIX_FMT_YUVJ420P:
        case AV_PIX_FMT_YUVJ422P:
        case AV_PIX_FMT_YUVJ444P:
        case AV_PIX_FMT_YUVJ440P:
        case AV_PIX_FMT_YUVJ411P:
            return true;
        default:
            return frame->color_range == AVCOL_RANGE_JPEG;
    }
}

}  // namespace

void RgbConverter::convert(const AVFrame* src,
                           int width,
                           int height,
                           Frame& dst,
                           const std::string& what) {
    const auto format = static_cast<AVPixelFormat>(src->format);
    const int colorspace = sws_colorspace_for(src->colorspace, src->height);
    const bool full_range = is_full_range(src);
    SwsContext* ctx =
        sws_getCachedContext(m_sws.release(), src->width, src->height, format, width, height,
                             AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr, nullptr, nullptr);
    m_sws.reset(ctx);
    LIPAR_CHECK(ctx, StatusCode::Unsupported, "cannot convert pixel format ",
                av_get_pix_fmt_name(format), " of ", what, " to RGB");
    if (ctx != m_configured || colorspace != m_colorspace || full_range != m_full_range) {
        sws_setColorspaceDetails(ctx, sws_getCoefficients(colorspace), full_range ? 1 : 0,
                                 sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
        m_configured = ctx;
        m_colorspace = colorspace;
        m_full_range = full_range;
    }
    // swscale's SIMD paths may store a few bytes past the last row: give them room.
    const size_t bytes = static_cast<size_t>(width) * height * 3;
    dst.width = width;
    dst.height = height;
    dst.rgb.resize(bytes + 64);
    uint8_t* planes[4] = {dst.rgb.data(), nullptr, nullptr, nullptr};
    int strides[4] = {width * 3, 0, 0, 0};
    sws_scale(ctx, src->data, src->linesize, 0, src->height, planes, strides);
    dst.rgb.resize(bytes);
}

}  // namespace lipar::media::ff
