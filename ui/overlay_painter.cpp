#include "overlay_painter.h"

#include <QFontMetrics>

namespace {

QString ms(double value) {
    return QString::number(value, 'f', value < 10 ? 1 : 0);
}

void drawBadge(QPainter& painter, const QString& text, const QColor& fill, QPoint topRight) {
    const QFontMetrics metrics(painter.font());
    const int padding = 5;
    QRect box(0, 0, metrics.horizontalAdvance(text) + 2 * padding, metrics.height() + padding);
    box.moveTopRight(topRight);
    painter.fillRect(box, fill);
    painter.setPen(Qt::white);
    painter.drawText(box, Qt::AlignCenter, text);
}

}  // namespace

void OverlayPainter::setStats(const lipar::EngineStats& stats, double displayFps) {
    m_stats = stats;
    m_displayFps = displayFps;
    m_hasStats = true;
    rebuildLines();
}

void OverlayPainter::setMode(lipar::EditMode mode) {
    if (mode != m_mode) {
        m_mode = mode;
        rebuildLines();
    }
}

void OverlayPainter::setStageTimesVisible(bool visible) {
    m_showStages = visible;
    rebuildLines();
}

void OverlayPainter::clear() {
    m_stats = lipar::EngineStats{};
    m_displayFps = 0;
    m_hasStats = false;
    m_lines.clear();
}

void OverlayPainter::rebuildLines() {
    m_lines.clear();
    if (!m_hasStats) {
        return;
    }
    m_lines << QStringLiteral("%1 fps output  |  %2 fps shown  |  latency %3 ms")
                   .arg(m_stats.output_fps, 0, 'f', 1)
                   .arg(m_displayFps, 0, 'f', 1)
                   .arg(ms(m_stats.latency_ms));
    if (m_mode != lipar::EditMode::Off) {
        m_lines << QStringLiteral("kept tokens %1%").arg(100.0 * m_stats.kept_ratio, 0, 'f', 1);
    }
    m_lines << QStringLiteral("dropped frames %1").arg(m_stats.dropped_frames);
    if (m_showStages) {
        const lipar::StageTimes& s = m_stats.stages;
        m_lines << QStringLiteral("encode %1  detect %2  denoise %3  decode %4  (ms/frame)")
                       .arg(ms(s.encode_ms), ms(s.detect_ms), ms(s.denoise_ms), ms(s.decode_ms));
        m_lines << QStringLiteral("total %1 ms/frame, %2 in / %3 out")
                       .arg(ms(s.total_ms))
                       .arg(m_stats.frames_in)
                       .arg(m_stats.frames_out);
    }
}

void OverlayPainter::paint(QPainter& painter, const QRect& area) const {
    if (area.isEmpty()) {
        return;
    }
    painter.save();
    QFont font = painter.font();
    font.setPointSizeF(9);
    painter.setFont(font);
    const QFontMetrics metrics(font);
    const int margin = 6;

    if (!m_lines.isEmpty()) {
        int width = 0;
        for (const QString& line : m_lines) {
            width = std::max(width, metrics.horizontalAdvance(line));
        }
        const int lineHeight = metrics.height();
        QRect box(0, 0, width + 2 * margin, lineHeight * static_cast<int>(m_lines.size()) + margin);
        box.moveBottomLeft(area.bottomLeft() + QPoint(margin, -margin));
        painter.fillRect(box, QColor(0, 0, 0, 150));
        painter.setPen(QColor(235, 235, 235));
        int y = box.top() + margin / 2 + metrics.ascent();
        for (const QString& line : m_lines) {
            painter.drawText(box.left() + margin, y, line);
            y += lineHeight;
        }
    }

    QPoint badgeCorner = area.topRight() + QPoint(-margin, margin);
    if (untrainedBadgeVisible()) {
        QFont bold = font;
        bold.setBold(true);
        painter.setFont(bold);
        drawBadge(painter, QStringLiteral("UNTRAINED PACK"), QColor(200, 30, 30, 220), badgeCorner);
        badgeCorner.ry() += metrics.height() + 2 * margin;
        painter.setFont(font);
    }
    if (m_recording) {
        drawBadge(painter, QStringLiteral("\u25CF REC"), QColor(160, 0, 0, 220), badgeCorner);
    }
    painter.restore();
}
