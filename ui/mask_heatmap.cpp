#include "mask_heatmap.h"

#include <QLineF>
#include <QPen>
#include <algorithm>
#include <cmath>

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

void MaskHeatmap::setMotion(double x, double y) {
    m_motionX = x;
    m_motionY = y;
}

void MaskHeatmap::setMotionField(const std::vector<int8_t>& field, int width, int height) {
    if (width <= 0 || height <= 0 || field.size() != 2 * static_cast<size_t>(width) * static_cast<size_t>(height)) {
        m_field.clear();
        return;
    }
    m_field = field;
    m_fieldWidth = width;
    m_fieldHeight = height;
}

namespace {
// A line with a head at its end (two strokes back from the tip at +-150 degrees).
void drawArrow(QPainter& painter, const QLineF& shaft) {
    painter.drawLine(shaft);
    if (shaft.length() <= 1.0) return;
    for (double turn : {150.0, -150.0}) {
        QLineF head(shaft.p2(), shaft.p2() + QPointF(std::max(6.0, shaft.length() * 0.25), 0));
        head.setAngle(shaft.angle() + turn);
        painter.drawLine(head);
    }
}
}  // namespace

void MaskHeatmap::paint(QPainter& painter, const QRectF& target) const {
    if (m_empty || m_image.isNull()) {
        return;
    }
    painter.save();
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(target, m_image);
    if (hasMotion()) {
        // One token is 16 video pixels (8x autoencoder, 2x2 patches): video pixels -> target.
        const double scale = target.width() / (16.0 * m_image.width());
        constexpr double kFramesShown = 12.0;
        const QPointF from = target.center();
        QLineF shaft(from, from + QPointF(m_motionX, m_motionY) * kFramesShown * scale);
        const double longest = 0.4 * std::min(target.width(), target.height());
        if (shaft.length() > longest) shaft.setLength(longest);
        const QPointF to = shaft.p2();
        QPen pen(QColor(0, 220, 255), 3);
        pen.setCapStyle(Qt::RoundCap);
        painter.setRenderHint(QPainter::Antialiasing, true);
        painter.setPen(pen);
        drawArrow(painter, shaft);
        painter.drawText(to + QPointF(6, -6), QStringLiteral("%1, %2 px/frame")
                                                 .arg(m_motionX, 0, 'f', 1)
                                                 .arg(m_motionY, 0, 'f', 1));
    }
    if (!m_field.empty()) {
        const double tokenW = target.width() / m_fieldWidth, tokenH = target.height() / m_fieldHeight;
        QPen pen(QColor(0, 220, 255), 2);
        pen.setCapStyle(Qt::RoundCap);
        painter.setRenderHint(QPainter::Antialiasing, true);
        painter.setPen(pen);
        for (int ty = 0; ty < m_fieldHeight; ty += kFieldTile) {
            for (int tx = 0; tx < m_fieldWidth; tx += kFieldTile) {
                const int w = std::min(kFieldTile, m_fieldWidth - tx), h = std::min(kFieldTile, m_fieldHeight - ty);
                double dx = 0, dy = 0;
                for (int y = ty; y < ty + h; ++y) {
                    for (int x = tx; x < tx + w; ++x) {
                        const size_t at = 2 * (static_cast<size_t>(y) * m_fieldWidth + x);
                        dx += m_field[at];
                        dy += m_field[at + 1];
                    }
                }
                dx /= w * h;
                dy /= w * h;
                if (std::abs(dx) < 0.25 && std::abs(dy) < 0.25) continue;
                const QPointF from(target.left() + (tx + w / 2.0) * tokenW, target.top() + (ty + h / 2.0) * tokenH);
                QLineF shaft(from, from + QPointF(dx * tokenW, dy * tokenH) * 3.0);
                const double longest = 0.45 * std::min(w * tokenW, h * tokenH);
                if (shaft.length() > longest) shaft.setLength(longest);
                drawArrow(painter, shaft);
            }
        }
    }
    painter.restore();
}
