#pragma once
// The live preview: one or two panes (input | output, or baseline | LIPAR in compare mode), each
// keeping its frame's aspect ratio inside a letterboxed rectangle, with the pruning heatmap and
// the stats overlay on top.
//
// Threading: GUI thread only. Frames are copied into one QImage per pane that is reallocated
// only when the frame size changes (never per frame); painting draws those images scaled.

#include <QImage>
#include <QString>
#include <QWidget>
#include <array>

#include "lipar/engine.h"
#include "mask_heatmap.h"
#include "overlay_painter.h"
#include "presentation_stats.h"

class PreviewWidget : public QWidget {
    Q_OBJECT

  public:
    static constexpr int kMaxPanes = 2;

    explicit PreviewWidget(QWidget* parent = nullptr);

    // Shows one engine result: baseline | LIPAR when it carries a baseline (compare mode), else
    // input | output when the input is shown, else the output alone.
    void showOutput(const lipar::EngineOutput& output);
    void setStats(const lipar::EngineStats& stats, const PresentationStats& shown);
    void setShowInput(bool show);
    bool showInput() const { return m_showInput; }
    void setMaskVisible(bool visible);
    bool maskVisible() const { return m_maskVisible; }
    void setOverlayVisible(bool visible);
    void setStageTimesVisible(bool visible);
    void setRecording(bool recording);
    // Shown (centered) while there is no frame, e.g. what to do when no pack exists.
    void setPlaceholderText(const QString& text);
    QString placeholderText() const { return m_placeholder; }
    void clearFrames();

    // Pane access (also used by tests): copies frame into the pane's reused image.
    bool setPaneFrame(int pane, const lipar::Frame& frame, const QString& label = {});
    void setPaneCount(int count);
    int paneCount() const { return m_paneCount; }
    const QImage& paneImage(int pane) const;
    QString paneLabel(int pane) const;
    // Where the pane's image is drawn (letterboxed within its share of the widget).
    QRect paneImageRect(int pane) const;
    int imageAllocations() const { return m_allocations; }
    const MaskHeatmap& mask() const { return m_mask; }
    const OverlayPainter& overlay() const { return m_overlay; }

    static QColor backgroundColor();
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

  protected:
    void paintEvent(QPaintEvent* event) override;

  private:
    struct Pane {
        QImage image;
        QString label;
    };

    void updateCompareLabels();

    std::array<Pane, kMaxPanes> m_panes;
    int m_paneCount = 0;
    int m_maskPane = -1;
    int m_allocations = 0;
    bool m_showInput = true;
    bool m_maskVisible = false;
    bool m_overlayVisible = true;
    bool m_compareLayout = false;
    QString m_placeholder;
    MaskHeatmap m_mask;
    OverlayPainter m_overlay;
    lipar::EngineStats m_stats;
};
