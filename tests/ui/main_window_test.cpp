// MainWindow without a running engine: shortcuts, compare toggle, settings that persist across
// runs (and command-line overrides), a missing pack reported with its path and what to do,
// snapshots that never replace a file, a prompt being encoded shown in the status bar and the
// overlay, the record action disabled while a file is busy, cameras listed in the background,
// and the engine log reaching the log panel from another thread.
#include <QAction>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <thread>

#include "control_panel.h"
#include "core/log.h"
#include "engine_bridge.h"
#include "engine_config_panel.h"
#include "log_panel.h"
#include "main_window.h"
#include "preview_widget.h"
#include "prompt_editor.h"
#include "slider_spin_box.h"
#include "source_picker.h"
#include "studio_actions.h"
#include "studio_controller.h"

class MainWindowTest : public QObject {
    Q_OBJECT

  private:
    StudioOptions options(const QStringList& extra = {}) const {
        StudioOptions o;
        QString error;
        const bool ok = o.parse(QStringList{"lipar-studio", "--settings",
                                            m_dir.filePath(QStringLiteral("studio.ini"))} +
                                    extra,
                                &error);
        if (!ok) {
            qFatal("%s", qPrintable(error));
        }
        return o;
    }

    QTemporaryDir m_dir;

  private slots:
    void shortcuts_are_the_documented_ones() {
        MainWindow window(options());
        QCOMPARE(window.actions()->start->shortcut(), QKeySequence(Qt::Key_Space));
        QCOMPARE(window.actions()->record->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_R));
        QCOMPARE(window.actions()->snapshot->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_S));
        QCOMPARE(window.actions()->compare->shortcut(), QKeySequence(Qt::Key_C));
    }

    void compare_toggle_switches_to_compare_and_back() {
        MainWindow window(options());
        window.controls()->setMode(lipar::EditMode::Naive);
        QSignalSpy spy(window.controls(), &ControlPanel::paramsChanged);
        window.actions()->compare->trigger();
        QCOMPARE(window.controls()->mode(), lipar::EditMode::Compare);
        QVERIFY(window.actions()->compare->isChecked());
        window.actions()->compare->trigger();
        QCOMPARE(window.controls()->mode(), lipar::EditMode::Naive);
        QVERIFY(!window.actions()->compare->isChecked());
        QCOMPARE(spy.count(), 2);
    }

    void a_missing_pack_is_reported_with_its_path_and_what_to_do() {
        const QString pack = m_dir.filePath(QStringLiteral("no-pack-here"));
        MainWindow window(
            options({"--pack", pack, "--source", "/clips/x.mp4", "--quit-after-frames", "1"}));
        QSignalSpy errors(&window, &MainWindow::errorShown);
        window.controller()->startEngine();
        QCOMPARE(errors.count(), 1);
        QVERIFY2(errors.first().at(1).toString().contains(pack),
                 qPrintable(errors.first().at(1).toString()));
        QVERIFY(errors.first().at(2).toString().contains(QStringLiteral("init-random")));
        QVERIFY(window.preview()->placeholderText().contains(pack));
        QVERIFY(window.logPanel()->text().contains(pack));
    }

    void settings_persist_across_runs() {
        QTemporaryDir dir;
        const QString ini = dir.filePath(QStringLiteral("persist.ini"));
        {
            StudioOptions o;
            QString error;
            QVERIFY(o.parse({"lipar-studio", "--settings", ini}, &error));
            MainWindow window(o);
            window.controls()->tau1Control()->spinBox()->setValue(0.2);
            window.controls()->setMode(lipar::EditMode::Naive);
            window.controls()->promptEditor()->lineEdit()->setText(QStringLiteral("pencil sketch"));
            window.controls()->promptEditor()->apply();
            window.sourcePicker()->setSource(lipar::SourceSpec::camera(3, 1280, 720));
            lipar::EngineConfig config = window.configPanel()->engineConfig();
            config.width = 480;
            config.height = 272;
            window.configPanel()->setEngineConfig(config);
            window.configPanel()->gpusBox()->setValue(2);
            window.configPanel()->splitBox()->setCurrentIndex(window.configPanel()->splitBox()->findData(true));
            window.actions()->showMask->setChecked(true);
            window.close();
        }
        StudioOptions o;
        QString error;
        QVERIFY(o.parse({"lipar-studio", "--settings", ini}, &error));
        MainWindow window(o);
        const lipar::EditParams params = window.controls()->editParams();
        QCOMPARE(params.tau1, 0.2);
        QCOMPARE(params.mode, lipar::EditMode::Naive);
        QCOMPARE(params.prompt, std::string("pencil sketch"));
        QCOMPARE(window.controls()->promptEditor()->history().value(0),
                 QStringLiteral("pencil sketch"));
        const lipar::SourceSpec source = window.sourcePicker()->currentSource();
        QCOMPARE(source.kind, lipar::SourceSpec::Kind::Camera);
        QCOMPARE(source.camera_index, 3);
        QCOMPARE(source.camera_width, 1280);
        QCOMPARE(window.configPanel()->resolution(), QSize(480, 272));
        QCOMPARE(window.configPanel()->engineConfig().gpus, 2);
        QVERIFY(window.configPanel()->engineConfig().split_tokens);
        QVERIFY(window.actions()->showMask->isChecked());
        QVERIFY(window.preview()->maskVisible());

        // The command line wins over the settings for that run.
        StudioOptions overridden;
        QVERIFY(overridden.parse({"lipar-studio", "--settings", ini, "--mode", "lipar", "--prompt",
                                  "night", "--resolution", "320x192"},
                                 &error));
        MainWindow second(overridden);
        QCOMPARE(second.controls()->editParams().mode, lipar::EditMode::Lipar);
        QCOMPARE(second.controls()->editParams().prompt, std::string("night"));
        QCOMPARE(second.controls()->editParams().tau1, 0.2);
        QCOMPARE(second.configPanel()->resolution(), QSize(320, 192));
    }

    void snapshots_never_replace_a_file_and_take_the_next_free_name() {
        MainWindow window(options());
        window.resize(1000, 700);
        lipar::Frame frame;
        frame.resize(64, 32);
        std::fill(frame.rgb.begin(), frame.rgb.end(), uint8_t{128});
        window.preview()->setPaneFrame(0, frame);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("snap.png"));
        QSignalSpy saved(window.controller(), &StudioController::snapshotSaved);
        QSignalSpy errors(&window, &MainWindow::errorShown);

        window.controller()->takeSnapshot(path);
        QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, 30000);  // sanitizer builds are slow
        QCOMPARE(saved.at(0).at(0).toString(), path);
        const QImage image(path);
        QVERIFY(!image.isNull());
        QCOMPARE(image.size(), window.preview()->size());
        QCOMPARE(image.pixelColor(window.preview()->paneImageRect(0).center()),
                 QColor(128, 128, 128));
        QFile first(path);
        QVERIFY(first.open(QIODevice::ReadOnly));
        const QByteArray firstBytes = first.readAll();
        first.close();

        // The same name again, e.g. two snapshots within a millisecond.
        std::fill(frame.rgb.begin(), frame.rgb.end(), uint8_t{40});
        window.preview()->setPaneFrame(0, frame);
        window.controller()->takeSnapshot(path);
        QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 2, 30000);
        const QString second = dir.filePath(QStringLiteral("snap-1.png"));
        QCOMPARE(saved.at(1).at(0).toString(), second);
        QCOMPARE(QImage(second).pixelColor(window.preview()->paneImageRect(0).center()),
                 QColor(40, 40, 40));
        QVERIFY(first.open(QIODevice::ReadOnly));
        QCOMPARE(first.readAll(), firstBytes);
        QVERIFY(errors.isEmpty());
        QVERIFY(window.logPanel()->text().contains(second));
        // Nothing else (no temporary file) is left in the folder.
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
                 QStringList({"snap-1.png", "snap.png"}));
    }

    void a_snapshot_that_cannot_be_written_is_reported() {
        MainWindow window(options({"--quit-after-frames", "1"}));  // scripted: no dialog
        QTemporaryDir dir;
        QFile blocker(dir.filePath(QStringLiteral("not-a-folder")));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        QSignalSpy errors(&window, &MainWindow::errorShown);
        QSignalSpy saved(window.controller(), &StudioController::snapshotSaved);
        window.controller()->takeSnapshot(blocker.fileName() + QStringLiteral("/snap.png"));
        QTRY_COMPARE(errors.count(), 1);
        QCOMPARE(errors.first().at(0).toString(), QStringLiteral("Snapshot failed"));
        QVERIFY2(errors.first().at(1).toString().contains(blocker.fileName()),
                 qPrintable(errors.first().at(1).toString()));
        QVERIFY(saved.isEmpty());
    }

    void a_prompt_being_encoded_shows_in_the_status_bar_and_the_overlay() {
        MainWindow window(options());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(!window.promptStatusLabel()->isVisible());
        lipar::EngineStats stats;
        stats.frames_out = 12;
        stats.text_status = "encoding 'thermal camera' (2.4 s)";
        emit window.bridge()->statsUpdated(stats);
        const QString text = QStringLiteral(
            "encoding prompt 'thermal camera' (2.4 s) - editing with the previous prompt");
        QVERIFY(window.promptStatusLabel()->isVisible());
        QCOMPARE(window.promptStatusLabel()->text(), text);
        QVERIFY(window.preview()->overlay().lines().contains(text));

        stats.text_status.clear();  // swapped in
        emit window.bridge()->statsUpdated(stats);
        QVERIFY(!window.promptStatusLabel()->isVisible());
        QVERIFY(
            !window.preview()->overlay().lines().join('\n').contains(QStringLiteral("encoding")));
    }

    void the_record_action_is_disabled_while_a_recording_file_is_busy() {
        MainWindow window(options());
        QAction* record = window.actions()->record;
        QVERIFY(record->isEnabled());
        emit window.bridge()->recordingBusyChanged(true);
        QVERIFY(!record->isEnabled());
        emit window.bridge()->recordingBusyChanged(false);
        QVERIFY(record->isEnabled());
    }

    void cameras_are_listed_in_the_background_and_then_shown() {
        SourcePicker picker;
        auto* box = picker.findChildren<QComboBox*>().value(0);  // the camera list comes first
        QVERIFY(box != nullptr);
        QSignalSpy listed(&picker, &SourcePicker::camerasListed);
        picker.refreshCameras();
        QVERIFY(!box->isEnabled());  // until the answer comes
        QTRY_COMPARE(listed.count(), 1);
        QCOMPARE(box->currentIndex(), 0);
        if (picker.cameraCount() == 0) {
            QCOMPARE(box->currentText(), QStringLiteral("No camera found"));
            QVERIFY(!box->isEnabled());
        } else {
            QVERIFY(box->currentText().startsWith(QStringLiteral("0: ")) ||
                    box->currentText().contains(QStringLiteral("/dev/video")));
            QVERIFY(box->isEnabled());
        }

        lipar::CameraDescription camera;
        camera.index = 2;
        camera.name = "Test Cam";
        camera.path = "/dev/video2";
        camera.sizes = {{640, 480}, {1280, 720}};
        picker.setCameras({camera});
        QCOMPARE(box->currentText(), QStringLiteral("2: Test Cam (/dev/video2)"));
        QVERIFY(box->isEnabled());
    }

    void engine_log_lines_reach_the_log_panel_from_another_thread() {
        LogPanel panel;
        std::thread engineThread([] { LIPAR_LOG_WARN("decoder hiccup at frame ", 42); });
        engineThread.join();
        QTRY_VERIFY(panel.text().contains(QStringLiteral("decoder hiccup at frame 42")));
        QVERIFY(panel.text().contains(QStringLiteral("[warn]")));
        panel.setMinimumLevel(lipar::LogLevel::Error);
        std::thread quiet([] { LIPAR_LOG_WARN("not shown"); });
        quiet.join();
        QCoreApplication::processEvents();
        QVERIFY(!panel.text().contains(QStringLiteral("not shown")));
    }
};

QTEST_MAIN(MainWindowTest)
#include "main_window_test.moc"
