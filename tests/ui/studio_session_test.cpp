// The whole window against the real engine (tiny random pack, real clip, CPU): start, frames in
// the preview, compare toggle while running, a prompt change that keeps frames coming, a source
// switch and a recording (both done off the GUI thread, Record disabled until the file is
// closed), a resolution change that restarts the engine at the new size, and stop.
#include "core/device.h"
#include "pipeline/random_pack.h"

#include <QAction>
#include <QFileInfo>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>

#include "control_panel.h"
#include "engine_bridge.h"
#include "engine_config_panel.h"
#include "log_panel.h"
#include "main_window.h"
#include "preview_widget.h"
#include "prompt_editor.h"
#include "source_picker.h"
#include "studio_actions.h"
#include "studio_controller.h"

namespace {

const QString kClip =
    QStringLiteral(LIPAR_SHARED_DIR) + QStringLiteral("/data/clips/dog_grass_832x480.mp4");
constexpr int kTimeoutMs = 180000;  // a failure bound only

}  // namespace

class StudioSessionTest : public QObject {
    Q_OBJECT

  private:
    QTemporaryDir m_dir;
    QString m_pack;

  private slots:
    void initTestCase() {
        if (!std::filesystem::exists(kClip.toStdString())) {
            QSKIP("the shared clip is missing");
        }
        lipar::use_all_cpu_threads();
        lipar::pipeline::RandomPackOptions options;
        options.config = "tiny";
        options.out = m_dir.filePath(QStringLiteral("pack")).toStdString();
        options.seed = 5;
        lipar::pipeline::write_random_pack(options);
        m_pack = QString::fromStdString(options.out);
    }

    void a_session_from_start_to_stop() {
        StudioOptions options;
        QString error;
        QVERIFY(options.parse(
            {"lipar-studio", "--settings", m_dir.filePath("s.ini"), "--pack", m_pack, "--source",
             kClip, "--loop", "--resolution", "128x64", "--device", "cpu", "--mode", "lipar",
             "--prompt", "a watercolor", "--quit-after-frames", "1000"},
            &error));
        MainWindow window(options);
        window.resize(1000, 700);
        EngineBridge* bridge = window.bridge();
        QSignalSpy frames(bridge, &EngineBridge::frameReady);
        QSignalSpy errors(&window, &MainWindow::errorShown);
        window.actions()->start->trigger();
        QVERIFY(bridge->isActive());
        QCOMPARE(window.actions()->start->text(), QStringLiteral("Stop"));
        QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= 2 || !errors.isEmpty(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));
        QCOMPARE(window.preview()->paneCount(), 2);  // input | output
        QCOMPARE(window.preview()->paneImage(1).size(), QSize(128, 64));

        // Compare while running: the same engine, both sides from then on.
        window.actions()->compare->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!bridge->latestOutput().baseline.empty() || !errors.isEmpty(),
                                 kTimeoutMs);
        QVERIFY(window.preview()->paneLabel(0).startsWith(QStringLiteral("Baseline")));
        QVERIFY(window.preview()->paneLabel(1).startsWith(QStringLiteral("LIPAR")));

        // A new prompt: frames keep coming.
        window.controls()->promptEditor()->lineEdit()->setText(QStringLiteral("pencil sketch"));
        window.controls()->promptEditor()->apply();
        const int before = frames.count();
        QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= before + 3 || !errors.isEmpty(), kTimeoutMs);

        // Another source while running: opened in the background, then logged.
        QSignalSpy opened(bridge, &EngineBridge::sourceOpened);
        window.sourcePicker()->openFile(kClip);
        QTRY_VERIFY_WITH_TIMEOUT(opened.count() == 1 || !errors.isEmpty(), kTimeoutMs);
        QVERIFY(window.logPanel()->text().contains(QStringLiteral("Source: ") + kClip));

        // A recording: Record is disabled while the file opens and while it is finished.
        QAction* record = window.actions()->record;
        const QString recording = m_dir.filePath(QStringLiteral("session.y4m"));
        QVERIFY(window.controller()->startRecordingTo(recording));
        QVERIFY(!record->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(bridge->isRecording() || !errors.isEmpty(), kTimeoutMs);
        QVERIFY(record->isEnabled());
        QVERIFY(record->isChecked());
        const int recorded = frames.count();
        QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= recorded + 2 || !errors.isEmpty(), kTimeoutMs);
        record->trigger();  // Ctrl+R: stop
        QVERIFY(!record->isChecked());
        QVERIFY(!record->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(record->isEnabled(), kTimeoutMs);
        QVERIFY(QFileInfo(recording).size() > 0);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));

        // A live stream goes through the same path (UDP needs no receiver to accept frames).
        QVERIFY(window.controller()->startRecordingTo(QStringLiteral("udp://127.0.0.1:9/")));
        QTRY_VERIFY_WITH_TIMEOUT(bridge->isRecording() || !errors.isEmpty(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));
        const int streamed = frames.count();
        QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= streamed + 2 || !errors.isEmpty(), kTimeoutMs);
        record->trigger();  // Ctrl+R stops the stream too
        QTRY_VERIFY_WITH_TIMEOUT(record->isEnabled() && !bridge->isRecording(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));

        // A new resolution restarts the engine at that size.
        lipar::EngineConfig config = window.configPanel()->engineConfig();
        config.width = 160;
        config.height = 80;
        window.configPanel()->setEngineConfig(config);
        emit window.configPanel()->applyRequested(window.configPanel()->engineConfig());
        QVERIFY(bridge->isActive());
        QCOMPARE(bridge->config().width, 160);
        QTRY_VERIFY_WITH_TIMEOUT(bridge->latestOutput().output.width == 160 || !errors.isEmpty(),
                                 kTimeoutMs);
        QCOMPARE(bridge->latestOutput().output.height, 80);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));

        window.actions()->start->trigger();  // Space: stop
        QVERIFY(!bridge->isActive());
        QCOMPARE(bridge->state(), lipar::EngineState::Stopped);
        QCOMPARE(window.actions()->start->text(), QStringLiteral("Start"));
        bridge->waitForStoppedEngines();
    }
};

QTEST_MAIN(StudioSessionTest)
#include "studio_session_test.moc"
