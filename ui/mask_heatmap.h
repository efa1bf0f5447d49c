#pragma once
// The pruning mask of a result (EngineOutput::keep_mask, one byte per latent token) as a
// translucent heatmap: recomputed tokens tinted, reused ones left clear.
//
// Threading: GUI thread only. setMask() reuses its image while the mask size stays the same, so
// showing a mask per frame allocates nothing.

#include <QColor>
#include <QImage>
#include <QPainter>
#include <cstdint>
#include <vector>

class MaskHeatmap {
  public:
    // Returns false (and clears) for a mask whose byte count is not width * height.
    bool setMask(const std::vector<uint8_t>& keep, int width, int height);
    void clear();
    bool isEmpty() const { return m_empty; }
    // One pixel per token.
    const QImage& image() const { return m_image; }
    int imageAllocations() const { return m_allocations; }
    double keptRatio() const { return m_keptRatio; }

    // The camera motion found by motion-compensated detection (EngineStats::motion_x/_y, video
    // pixels per frame); (0, 0) draws no arrow.
    void setMotion(double x, double y);
    bool hasMotion() const { return m_motionX != 0 || m_motionY != 0; }

    // Stretches the mask over target (the output image's rectangle), token edges kept sharp;
    // with motion, an arrow from the centre shows where the content moves in one block (12
    // frames; at most 0.4 of the picture), with its speed written beside it.
    void paint(QPainter& painter, const QRectF& target) const;

    static QColor keptColor();

  private:
    QImage m_image;
    bool m_empty = true;
    int m_allocations = 0;
    double m_keptRatio = 0;
    double m_motionX = 0, m_motionY = 0;
};
