#pragma once
// The live overlay drawn over the preview: output and display FPS, latency (to the screen, as
// percentiles, and the engine's own p95), per-stage times (on demand), kept-token percentage,
// dropped frames where they were dropped (input, output, screen), a prompt being encoded, a REC
// marker and an "UNTRAINED PACK" badge for packs with random weights.
//
// Threading: GUI thread only. The text is rebuilt when stats arrive (a few times a second), not
// per painted frame.

#include <QPainter>
#include <QRect>
#include <QStringList>

#include "lipar/engine.h"
#include "presentation_stats.h"

class OverlayPainter {
  public:
    void setStats(const lipar::EngineStats& stats, const PresentationStats& shown);
    void setMode(lipar::EditMode mode);
    void setStageTimesVisible(bool visible);
    bool stageTimesVisible() const { return m_showStages; }
    void setRecording(bool recording) { m_recording = recording; }
    void clear();

    bool hasStats() const { return m_hasStats; }
    bool untrainedBadgeVisible() const { return m_hasStats && m_stats.untrained; }
    // The text lines of the stats box, top to bottom.
    const QStringList& lines() const { return m_lines; }

    // "encoding prompt 'X' (3.1 s) - editing with the previous prompt" while the engine encodes
    // a new prompt, else empty (also shown in the status bar).
    static QString promptStatusText(const lipar::EngineStats& stats);

    // pictures: where the panes' images are (together); firstPicture: the left one; bounds: the
    // widget. The stats box goes under the pictures when the letterbox bar there has room, else
    // over the bottom left of the first picture; never wider than one picture. The badges go at
    // the top right of the pictures.
    void paint(QPainter& painter,
               const QRect& pictures,
               const QRect& firstPicture,
               const QRect& bounds) const;

  private:
    void rebuildLines();

    lipar::EngineStats m_stats;
    PresentationStats m_shown;
    lipar::EditMode m_mode = lipar::EditMode::Lipar;
    bool m_hasStats = false;
    bool m_showStages = false;
    bool m_recording = false;
    QStringList m_lines;
    mutable QStringList m_elided;  // m_lines as painted into a box m_elidedFor pixels wide
    mutable int m_elidedFor = -1;
    mutable int m_elidedWidth = 0;
};
