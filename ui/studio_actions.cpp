#include "studio_actions.h"

#include <QAction>
#include <QMainWindow>
#include <QMenu>
#include <QMenuBar>
#include <QSignalBlocker>
#include <QToolBar>

namespace {

QAction* makeAction(QObject* parent,
                    const QString& text,
                    const QKeySequence& shortcut,
                    const QString& tip,
                    bool checkable = false) {
    auto* action = new QAction(text, parent);
    if (!shortcut.isEmpty()) {
        action->setShortcut(shortcut);
        action->setShortcutContext(Qt::WindowShortcut);
    }
    action->setToolTip(shortcut.isEmpty() ? tip
                                          : QStringLiteral("%1 (%2)").arg(
                                                tip, shortcut.toString(QKeySequence::NativeText)));
    action->setCheckable(checkable);
    return action;
}

}  // namespace

StudioActions::StudioActions(QMainWindow* window) : QObject(window) {
    start =
        makeAction(this, tr("Start"), QKeySequence(Qt::Key_Space), tr("Start or stop the engine"));
    record = makeAction(this, tr("Record"), QKeySequence(Qt::CTRL | Qt::Key_R),
                        tr("Record the output to a video file"), true);
    recordSideBySide =
        makeAction(this, tr("Record side by side"), {},
                   tr("Record both panes (input | output, or baseline | LIPAR)"), true);
    streamTo = makeAction(this, tr("Stream to..."), {},
                          tr("Send the output live to OBS (Media Source) or a video call: "
                             "srt://HOST:PORT, udp://HOST:PORT or rtmp://HOST/APP/KEY"));
    snapshot = makeAction(this, tr("Snapshot"), QKeySequence(Qt::CTRL | Qt::Key_S),
                          tr("Save the preview as a PNG"));
    compare = makeAction(this, tr("Compare"), QKeySequence(Qt::Key_C),
                         tr("Baseline | LIPAR side by side on the same input"), true);
    openVideo = makeAction(this, tr("Open video..."), QKeySequence::Open, tr("Open a video file"));
    quit = makeAction(this, tr("Quit"), QKeySequence(Qt::CTRL | Qt::Key_Q), tr("Quit"));
    showInput = makeAction(this, tr("Show input"), QKeySequence(Qt::Key_I),
                           tr("Input | output side by side"), true);
    showMask = makeAction(this, tr("Pruning mask"), QKeySequence(Qt::Key_M),
                          tr("Tint the tokens that were recomputed"), true);
    showStages = makeAction(this, tr("Stage times"), QKeySequence(Qt::Key_T),
                            tr("Per-stage milliseconds in the overlay"), true);
    showOverlay = makeAction(this, tr("Overlay"), QKeySequence(Qt::Key_O),
                             tr("FPS, latency and pruning statistics over the preview"), true);
    newestOnly = makeAction(this, tr("Newest frame only"), {},
                            tr("Show only the newest result (lowest latency) instead of playing "
                               "every frame at the source's pace"),
                            true);
    about = makeAction(this, tr("About LIPAR Studio"), {}, tr("About"));
    start->setShortcutContext(Qt::WindowShortcut);
}

QMenu* StudioActions::addMenus(QMainWindow* window) {
    QMenu* file = window->menuBar()->addMenu(tr("&File"));
    file->addAction(openVideo);
    file->addSeparator();
    file->addAction(snapshot);
    file->addAction(record);
    file->addAction(recordSideBySide);
    file->addAction(streamTo);
    file->addSeparator();
    file->addAction(quit);

    QMenu* engine = window->menuBar()->addMenu(tr("&Engine"));
    engine->addAction(start);
    engine->addAction(compare);

    m_viewMenu = window->menuBar()->addMenu(tr("&View"));
    m_viewMenu->addAction(showInput);
    m_viewMenu->addAction(showMask);
    m_viewMenu->addAction(showStages);
    m_viewMenu->addAction(showOverlay);
    m_viewMenu->addAction(newestOnly);
    m_viewMenu->addSeparator();

    QMenu* help = window->menuBar()->addMenu(tr("&Help"));
    help->addAction(about);
    return file;
}

QToolBar* StudioActions::addToolBar(QMainWindow* window) {
    QToolBar* bar = window->addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setToolButtonStyle(Qt::ToolButtonTextOnly);
    bar->addAction(start);
    bar->addAction(record);
    bar->addAction(snapshot);
    bar->addSeparator();
    bar->addAction(compare);
    bar->addAction(showInput);
    bar->addAction(showMask);
    bar->addAction(showStages);
    return bar;
}

void StudioActions::setRunning(bool running) {
    start->setText(running ? tr("Stop") : tr("Start"));
}

void StudioActions::setRecording(bool recording) {
    const QSignalBlocker blocker(record);
    record->setChecked(recording);
    record->setText(recording ? tr("Stop recording") : tr("Record"));
}

void StudioActions::setRecordingBusy(bool busy) {
    record->setEnabled(!busy);
    streamTo->setEnabled(!busy);
}

void StudioActions::setCompare(bool compare) {
    const QSignalBlocker blocker(this->compare);
    this->compare->setChecked(compare);
}
