#pragma once
// The main window's actions with their shortcuts, menus and toolbar:
//   Space start/stop, Ctrl+R record, Ctrl+S snapshot, C compare, Ctrl+O open video, Ctrl+Q quit;
//   view toggles: input side by side, pruning mask heatmap, stage times, overlay, newest frame
//   only (lowest latency instead of paced playback).
// Single-key shortcuts (Space, C) do not fire while a text field has focus (Qt gives the key to
// the field), so typing a prompt is safe.

#include <QObject>

class QAction;
class QMainWindow;
class QMenu;
class QToolBar;

class StudioActions : public QObject {
    Q_OBJECT

  public:
    explicit StudioActions(QMainWindow* window);

    // Adds the menus to the window's menu bar and returns the toolbar (added to the window).
    QMenu* addMenus(QMainWindow* window);
    QToolBar* addToolBar(QMainWindow* window);
    // View menu entries for docks are added here by the window.
    QMenu* viewMenu() const { return m_viewMenu; }

    // Shows running/recording state on the toggles (no signals).
    void setRunning(bool running);
    void setRecording(bool recording);
    // While a recording file is being opened or finished, Record is disabled.
    void setRecordingBusy(bool busy);
    void setCompare(bool compare);

    QAction* start = nullptr;
    QAction* record = nullptr;
    QAction* recordSideBySide = nullptr;
    QAction* streamTo = nullptr;  // send the output live to srt:// udp:// rtmp:// (OBS, calls)
    QAction* snapshot = nullptr;
    QAction* compare = nullptr;
    QAction* openVideo = nullptr;
    QAction* quit = nullptr;
    QAction* showInput = nullptr;
    QAction* showMask = nullptr;
    QAction* showStages = nullptr;
    QAction* showOverlay = nullptr;
    QAction* newestOnly = nullptr;
    QAction* about = nullptr;

  private:
    QMenu* m_viewMenu = nullptr;
};
