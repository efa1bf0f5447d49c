#include "mask_heatmap.h"

QColor MaskHeatmap::keptColor() {
    return QColor(255, 72, 0, 120);
}

bool MaskHeatmap::setMask(const std::vector<uint8_t>& keep, int width, int height) {
    if (width <= 0 || height <= 0 ||
        keep.size() != static_cast<size_t>(width) * static_cast<size_t>(height)) {
        clear();
        return false;
    }
    if (m_image.width() != width || m_image.height() != height) {
        m_image = QImage(width, height, QImage::Format_ARGB32_Premultiplied);
        ++m_allocations;
    }
    const QRgb kept = keptColor().rgba();
    const QRgb tint = qPremultiply(kept);
    size_t keptCount = 0;
    for (int y = 0; y < height; ++y) {
        auto* line = reinterpret_cast<QRgb*>(m_image.scanLine(y));
        const uint8_t* row = keep.data() + static_cast<size_t>(y) * width;
        for (int x = 0; x < width; ++x) {
            const bool recomputed = row[x] != 0;
            line[x] = recomputed ? tint : 0u;
            keptCount += recomputed ? 1 : 0;
        }
    }
    m_keptRatio = static_cast<double>(keptCount) / static_cast<double>(keep.size());
    m_empty = false;
    return true;
}

void MaskHeatmap::clear() {
    m_empty = true;
    m_keptRatio = 0;
}

void MaskHeatmap::paint(QPainter& painter, const QRectF& target) const {
    if (m_empty || m_image.isNull()) {
        return;
    }
    painter.save();
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(target, m_image);
    painter.restore();
}
