#include "script_driver.h"

#include <QCoreApplication>
#include <QTextStream>
#include <QTimer>
#include <cstdio>

#include "engine_bridge.h"
#include "main_window.h"
#include "preview_widget.h"

ScriptDriver::ScriptDriver(MainWindow* window,
                           const QString& screenshotPath,
                           int quitAfterFrames,
                           QObject* parent)
    : QObject(parent),
      m_window(window),
      m_screenshotPath(screenshotPath),
      m_quitAfterFrames(quitAfterFrames) {
    // Connected after the window's own connections, so the preview already shows the frame.
    connect(window->bridge(), &EngineBridge::frameReady, this, &ScriptDriver::onFrame);
    connect(window->bridge(), &EngineBridge::stateChanged, this, &ScriptDriver::onState);
    connect(window, &MainWindow::errorShown, this, &ScriptDriver::onError);
}

void ScriptDriver::onFrame(const lipar::EngineOutput& output) {
    if (m_done) {
        return;
    }
    ++m_framesShown;
    if (m_firstIndex < 0) {
        m_firstIndex = output.index;
    }
    m_framesSeen = std::max<int>(m_framesShown, static_cast<int>(output.index - m_firstIndex + 1));
    const int target = m_quitAfterFrames > 0 ? m_quitAfterFrames : 1;
    if (m_framesSeen >= target) {
        finish(0, QStringLiteral("%1 output frames").arg(m_framesSeen));
    }
}

void ScriptDriver::onState(lipar::EngineState state) {
    if (m_done) {
        return;
    }
    if (state == lipar::EngineState::Finished) {
        finish(m_framesShown > 0 ? 0 : 3,
               QStringLiteral("the source ended after %1 output frames").arg(m_framesSeen));
    } else if (state == lipar::EngineState::Failed) {
        finish(2, QStringLiteral("the engine failed"));
    }
}

void ScriptDriver::onError(const QString& title, const QString& what, const QString& advice) {
    if (m_done) {
        return;
    }
    QTextStream(stderr) << "lipar-studio: error: " << title << ": " << what << "\n  " << advice
                        << "\n";
    finish(2, QStringLiteral("an error"));
}

void ScriptDriver::finish(int exitCode, const QString& why) {
    m_done = true;
    // Fresh stats for the overlay in the screenshot.
    m_window->bridge()->refresh();
    const bool saved = m_screenshotPath.isEmpty() || saveScreenshot();
    if (!saved && exitCode == 0) {
        exitCode = 4;
    }
    QTextStream(stdout) << "lipar-studio: finished after " << why << " (exit code " << exitCode
                        << ")\n";
    emit finished(exitCode);
    if (m_quitAfterFrames > 0 || exitCode != 0) {
        QTimer::singleShot(0, qApp, [exitCode] { QCoreApplication::exit(exitCode); });
    }
}

bool ScriptDriver::saveScreenshot() {
    const PreviewWidget* preview = m_window->preview();
    const QPoint origin = preview->mapTo(m_window, QPoint(0, 0));
    const QPixmap shot = m_window->grab();
    if (!shot.save(m_screenshotPath, "PNG")) {
        QTextStream(stderr) << "lipar-studio: cannot write the screenshot " << m_screenshotPath
                            << "\n";
        return false;
    }
    QTextStream out(stdout);
    out << "lipar-studio: screenshot " << m_screenshotPath << " " << shot.width() << "x"
        << shot.height() << " scale " << shot.devicePixelRatio() << "\n";
    // Where the preview's images are in the screenshot (device-independent pixels; a test
    // checks that they are not blank).
    for (int pane = 0; pane < preview->paneCount(); ++pane) {
        const QRect rect = preview->paneImageRect(pane).translated(origin);
        out << "lipar-studio: pane " << pane << " \"" << preview->paneLabel(pane) << "\" at "
            << rect.x() << " " << rect.y() << " " << rect.width() << " " << rect.height() << "\n";
    }
    return true;
}
