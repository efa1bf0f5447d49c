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
    // Per-region motion (EngineOutput::motion_field: per token (dx, dy) in tokens per latent
    // frame); an empty field or one of another size clears it.
    void setMotionField(const std::vector<int8_t>& field, int width, int height);
    bool hasMotionField() const { return !m_field.empty(); }
    static constexpr int kFieldTile = 4;  // tokens per side of a drawn arrow's tile

    // Stretches the mask over target (the output image's rectangle), token edges kept sharp;
    // with motion, an arrow from the centre shows where the content moves in one block (12
    // frames; at most 0.4 of the picture), with its speed written beside it; with a motion
    // field, one arrow per tile of kFieldTile x kFieldTile tokens from the tile's centre (its
    // tokens' mean step over three latent frames, at most 0.45 of the tile).
    void paint(QPainter& painter, const QRectF& target) const;

    static QColor keptColor();

  private:
    QImage m_image;
    bool m_empty = true;
    int m_allocations = 0;
    double m_keptRatio = 0;
    double m_motionX = 0, m_motionY = 0;
    std::vector<int8_t> m_field;
    int m_fieldWidth = 0, m_fieldHeight = 0;
};
