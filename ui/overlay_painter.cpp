#include "overlay_painter.h"

#include <QFontMetrics>
#include <QObject>

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

void OverlayPainter::setStats(const lipar::EngineStats& stats, const PresentationStats& shown) {
    m_stats = stats;
    m_shown = shown;
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
    m_shown = PresentationStats{};
    m_hasStats = false;
    m_lines.clear();
    m_elidedFor = -1;
}

QString OverlayPainter::promptStatusText(const lipar::EngineStats& stats) {
    if (stats.text_status.empty()) {
        return {};
    }
    QString status = QString::fromStdString(stats.text_status);
    const QString encoding = QStringLiteral("encoding '");
    if (status.startsWith(encoding)) {
        status.replace(0, encoding.size(), QStringLiteral("encoding prompt '"));
    }
    // The first prompt of a run has no predecessor: the first block waits for it.
    return stats.frames_out > 0 ? QObject::tr("%1 - editing with the previous prompt").arg(status)
                                : QObject::tr("%1 - the first frames wait for it").arg(status);
}

void OverlayPainter::rebuildLines() {
    m_lines.clear();
    m_elidedFor = -1;
    if (!m_hasStats) {
        return;
    }
    m_lines << QStringLiteral("%1 fps output  |  %2 fps shown")
                   .arg(m_stats.output_fps, 0, 'f', 1)
                   .arg(m_shown.displayFps, 0, 'f', 1);
    const lipar::LatencySummary& screen = m_shown.latency;
    const QString toScreen = screen.frames > 0
                                 ? QStringLiteral("%1 / %2 / %3 ms")
                                       .arg(ms(screen.p50_ms), ms(screen.p95_ms), ms(screen.max_ms))
                                 : QStringLiteral("-");
    const QString engineP95 = m_stats.latency.frames > 0
                                  ? QStringLiteral("%1 ms").arg(ms(m_stats.latency.p95_ms))
                                  : QStringLiteral("-");
    m_lines << QStringLiteral("latency to screen p50 / p95 / max %1").arg(toScreen);
    m_lines << QStringLiteral("latency in engine p95 %1").arg(engineP95);
    if (m_mode != lipar::EditMode::Off) {
        m_lines << QStringLiteral("kept tokens %1%").arg(100.0 * m_stats.kept_ratio, 0, 'f', 1);
        if (m_stats.motion_x != 0 || m_stats.motion_y != 0) {
            m_lines << QStringLiteral("camera motion %1, %2 px/frame")
                           .arg(m_stats.motion_x, 0, 'f', 1)
                           .arg(m_stats.motion_y, 0, 'f', 1);
        }
    }
    m_lines << QStringLiteral("dropped frames: input %1, output %2, screen %3")
                   .arg(m_stats.dropped_frames)
                   .arg(m_stats.dropped_output)
                   .arg(m_shown.dropped);
    const QString prompt = promptStatusText(m_stats);
    if (!prompt.isEmpty()) {
        m_lines << prompt;
    }
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

void OverlayPainter::paint(QPainter& painter,
                           const QRect& pictures,
                           const QRect& firstPicture,
                           const QRect& bounds) const {
    if (pictures.isEmpty() || firstPicture.isEmpty()) {
        return;
    }
    painter.save();
    QFont font = painter.font();
    font.setPointSizeF(9);
    painter.setFont(font);
    const QFontMetrics metrics(font);
    const int margin = 6;

    if (!m_lines.isEmpty()) {
        // As wide as one picture at most (a long prompt must not cover the other side of a
        // comparison). Elided once per text and width, not per painted frame.
        const int maxWidth = std::max(0, firstPicture.width() - 4 * margin);
        if (maxWidth != m_elidedFor) {
            m_elided.clear();
            m_elidedWidth = 0;
            for (const QString& line : m_lines) {
                m_elided << metrics.elidedText(line, Qt::ElideRight, maxWidth);
                m_elidedWidth = std::max(m_elidedWidth, metrics.horizontalAdvance(m_elided.back()));
            }
            m_elidedFor = maxWidth;
        }
        const QStringList& lines = m_elided;
        const int lineHeight = metrics.height();
        QRect box(0, 0, m_elidedWidth + 2 * margin,
                  lineHeight * static_cast<int>(lines.size()) + margin);
        // In the letterbox bar under the pictures when it is tall enough, else over the bottom
        // left of the first picture.
        if (bounds.bottom() - pictures.bottom() >= box.height() + 2 * margin) {
            box.moveTopLeft(QPoint(firstPicture.left() + margin, pictures.bottom() + margin));
        } else {
            box.moveBottomLeft(firstPicture.bottomLeft() + QPoint(margin, -margin));
        }
        painter.fillRect(box, QColor(0, 0, 0, 150));
        painter.setPen(QColor(235, 235, 235));
        int y = box.top() + margin / 2 + metrics.ascent();
        for (const QString& line : lines) {
            painter.drawText(box.left() + margin, y, line);
            y += lineHeight;
        }
    }

    QPoint badgeCorner = pictures.topRight() + QPoint(-margin, margin);
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
