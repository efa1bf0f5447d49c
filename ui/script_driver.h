#pragma once
// Scripted runs for tests and demos (--screenshot PNG, --quit-after-frames N): counts the output
// frames the window shows, then saves a grab of the whole main window and quits with exit code 0.
// An error ends the run with exit code 2 (after a screenshot, which helps to see why); a source
// that ends before N frames ends it early (0 if at least one frame was shown, else 3).
//
// Frames are counted by source index (first shown to last shown, inclusive), so results the GUI
// skipped (take_latest keeps only the newest) still count.

#include <QObject>
#include <QString>

#include "engine_metatypes.h"

class MainWindow;

class ScriptDriver : public QObject {
    Q_OBJECT

  public:
    ScriptDriver(MainWindow* window,
                 const QString& screenshotPath,
                 int quitAfterFrames,
                 QObject* parent = nullptr);

    int framesSeen() const { return m_framesSeen; }

  signals:
    // Emitted once, just before the application is asked to exit with exitCode.
    void finished(int exitCode);

  private:
    void onFrame(const lipar::EngineOutput& output);
    void onState(lipar::EngineState state);
    void onError(const QString& title, const QString& what, const QString& advice);
    void finish(int exitCode, const QString& why);
    bool saveScreenshot();

    MainWindow* m_window = nullptr;
    QString m_screenshotPath;
    int m_quitAfterFrames = -1;
    int m_framesSeen = 0;
    int m_framesShown = 0;
    int64_t m_firstIndex = -1;
    bool m_done = false;
};
