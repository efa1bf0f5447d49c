#include "preview_widget.h"

#include <QPaintEvent>
#include <QPainter>
#include <cstring>

namespace {

QString fpsText(double msPerFrame) {
    return msPerFrame > 0 ? QStringLiteral("%1 fps").arg(1000.0 / msPerFrame, 0, 'f', 1)
                          : QStringLiteral("- fps");
}

QString outputLabel(lipar::EditMode mode) {
    switch (mode) {
        case lipar::EditMode::Off:
            return QObject::tr("Output (baseline)");
        case lipar::EditMode::Naive:
            return QObject::tr("Output (naive pruning)");
        case lipar::EditMode::Lipar:
            return QObject::tr("Output (LIPAR)");
        case lipar::EditMode::Compare:
            return QObject::tr("LIPAR");
        case lipar::EditMode::Invalid:
            break;
    }
    return QObject::tr("Output");
}

void drawLabel(QPainter& painter, const QRect& imageRect, const QString& text) {
    if (text.isEmpty() || imageRect.isEmpty()) {
        return;
    }
    const QFontMetrics metrics(painter.font());
    const int padding = 4;
    const QRect box(imageRect.left(), imageRect.top(),
                    std::min(imageRect.width(), metrics.horizontalAdvance(text) + 2 * padding),
                    std::min(imageRect.height(), metrics.height() + padding));
    painter.fillRect(box, QColor(0, 0, 0, 160));
    painter.setPen(Qt::white);
    painter.drawText(box, Qt::AlignCenter, text);
}

}  // namespace

PreviewWidget::PreviewWidget(QWidget* parent) : QWidget(parent) {
    setAttribute(Qt::WA_OpaquePaintEvent);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    m_placeholder = tr("No source. Pick a camera or open a video file, then press Start (Space).");
}

QColor PreviewWidget::backgroundColor() {
    return QColor(20, 22, 26);
}

QSize PreviewWidget::sizeHint() const {
    return {960, 540};
}

QSize PreviewWidget::minimumSizeHint() const {
    return {320, 180};
}

void PreviewWidget::showOutput(const lipar::EngineOutput& output) {
    m_overlay.setMode(output.mode);
    const bool compare = !output.baseline.empty();
    m_compareLayout = compare;
    if (compare) {
        setPaneCount(2);
        setPaneFrame(0, output.baseline);
        setPaneFrame(1, output.output);
        updateCompareLabels();
    } else if (m_showInput && !output.input.empty()) {
        setPaneCount(2);
        setPaneFrame(0, output.input, tr("Input"));
        setPaneFrame(1, output.output, outputLabel(output.mode));
    } else {
        setPaneCount(1);
        setPaneFrame(0, output.output, outputLabel(output.mode));
    }
    m_maskPane = m_paneCount - 1;
    if (output.keep_mask.empty()) {
        m_mask.clear();
    } else {
        m_mask.setMask(output.keep_mask, output.mask_width, output.mask_height);
    }
    m_mask.setMotionField(output.motion_field, output.mask_width, output.mask_height);
    update();
}

void PreviewWidget::setStats(const lipar::EngineStats& stats, const PresentationStats& shown) {
    m_stats = stats;
    m_overlay.setStats(stats, shown);
    m_mask.setMotion(stats.motion_x, stats.motion_y);
    if (m_compareLayout) {
        updateCompareLabels();
    }
    update();
}

void PreviewWidget::updateCompareLabels() {
    m_panes[0].label = tr("Baseline  %1").arg(fpsText(m_stats.baseline_ms_per_frame));
    m_panes[1].label = tr("LIPAR  %1").arg(fpsText(m_stats.lipar_ms_per_frame));
}

void PreviewWidget::setShowInput(bool show) {
    m_showInput = show;
    update();
}

void PreviewWidget::setMaskVisible(bool visible) {
    m_maskVisible = visible;
    update();
}

void PreviewWidget::setOverlayVisible(bool visible) {
    m_overlayVisible = visible;
    update();
}

void PreviewWidget::setStageTimesVisible(bool visible) {
    m_overlay.setStageTimesVisible(visible);
    update();
}

void PreviewWidget::setRecording(bool recording) {
    m_overlay.setRecording(recording);
    update();
}

void PreviewWidget::setPlaceholderText(const QString& text) {
    m_placeholder = text;
    update();
}

void PreviewWidget::clearFrames() {
    m_paneCount = 0;
    m_maskPane = -1;
    m_mask.clear();
    m_overlay.clear();
    m_compareLayout = false;
    update();
}

bool PreviewWidget::setPaneFrame(int pane, const lipar::Frame& frame, const QString& label) {
    if (pane < 0 || pane >= kMaxPanes || frame.empty() || frame.rgb.size() < frame.byte_size()) {
        return false;
    }
    Pane& target = m_panes[static_cast<size_t>(pane)];
    if (target.image.width() != frame.width || target.image.height() != frame.height) {
        target.image = QImage(frame.width, frame.height, QImage::Format_RGB888);
        ++m_allocations;
    }
    // QImage rows are 4-byte aligned; the frame's are packed.
    const size_t rowBytes = static_cast<size_t>(frame.width) * 3;
    for (int y = 0; y < frame.height; ++y) {
        std::memcpy(target.image.scanLine(y), frame.rgb.data() + rowBytes * y, rowBytes);
    }
    if (!label.isNull()) {
        target.label = label;
    }
    m_paneCount = std::max(m_paneCount, pane + 1);
    update();
    return true;
}

void PreviewWidget::setPaneCount(int count) {
    m_paneCount = std::clamp(count, 0, kMaxPanes);
    update();
}

const QImage& PreviewWidget::paneImage(int pane) const {
    static const QImage none;
    return pane >= 0 && pane < kMaxPanes ? m_panes[static_cast<size_t>(pane)].image : none;
}

QString PreviewWidget::paneLabel(int pane) const {
    return pane >= 0 && pane < m_paneCount ? m_panes[static_cast<size_t>(pane)].label : QString();
}

QRect PreviewWidget::paneImageRect(int pane) const {
    if (pane < 0 || pane >= m_paneCount) {
        return {};
    }
    const QImage& image = m_panes[static_cast<size_t>(pane)].image;
    if (image.isNull()) {
        return {};
    }
    const int left = width() * pane / m_paneCount;
    const int right = width() * (pane + 1) / m_paneCount;
    const QRect area(left, 0, right - left, height());
    const QSize fitted = image.size().scaled(area.size(), Qt::KeepAspectRatio);
    return {area.left() + (area.width() - fitted.width()) / 2,
            area.top() + (area.height() - fitted.height()) / 2, fitted.width(), fitted.height()};
}

void PreviewWidget::paintEvent(QPaintEvent* event) {
    QPainter painter(this);
    painter.fillRect(event->rect(), backgroundColor());
    if (m_paneCount == 0) {
        painter.setPen(QColor(200, 200, 200));
        painter.drawText(rect().adjusted(20, 20, -20, -20), Qt::AlignCenter | Qt::TextWordWrap,
                         m_placeholder);
        return;
    }
    painter.setRenderHint(QPainter::SmoothPixmapTransform, true);
    QRect imageArea;
    for (int pane = 0; pane < m_paneCount; ++pane) {
        const QRect target = paneImageRect(pane);
        if (target.isEmpty()) {
            continue;
        }
        painter.drawImage(target, m_panes[static_cast<size_t>(pane)].image);
        if (m_maskVisible && pane == m_maskPane) {
            m_mask.paint(painter, target);
        }
        drawLabel(painter, target, m_panes[static_cast<size_t>(pane)].label);
        imageArea = imageArea.united(target);
    }
    if (m_overlayVisible) {
        m_overlay.paint(painter, imageArea, paneImageRect(0), rect());
    }
}
