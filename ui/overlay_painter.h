#pragma once
// The live overlay drawn over the preview: output and display FPS, end-to-end latency, per-stage
// times (on demand), kept-token percentage, dropped frames, a REC marker and an "UNTRAINED PACK"
// badge for packs with random weights.
//
// Threading: GUI thread only. The text is rebuilt when stats arrive (a few times a second), not
// per painted frame.

#include <QPainter>
#include <QRect>
#include <QStringList>

#include "lipar/engine.h"

class OverlayPainter {
  public:
    void setStats(const lipar::EngineStats& stats, double displayFps);
    void setMode(lipar::EditMode mode);
    void setStageTimesVisible(bool visible);
    bool stageTimesVisible() const { return m_showStages; }
    void setRecording(bool recording) { m_recording = recording; }
    void clear();

    bool hasStats() const { return m_hasStats; }
    bool untrainedBadgeVisible() const { return m_hasStats && m_stats.untrained; }
    // The text lines of the stats box, top to bottom.
    const QStringList& lines() const { return m_lines; }

    // Draws the stats box at the bottom left of area and the badges at its top right.
    void paint(QPainter& painter, const QRect& area) const;

  private:
    void rebuildLines();

    lipar::EngineStats m_stats;
    lipar::EditMode m_mode = lipar::EditMode::Lipar;
    double m_displayFps = 0;
    bool m_hasStats = false;
    bool m_showStages = false;
    bool m_recording = false;
    QStringList m_lines;
};
