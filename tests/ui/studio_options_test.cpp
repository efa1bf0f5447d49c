// The command line of lipar-studio and source specs: what scripts pass is what the app uses,
// and bad values are refused with a message naming the option.
#include <QTest>

#include "source_picker.h"
#include "studio_options.h"

class StudioOptionsTest : public QObject {
    Q_OBJECT

  private slots:
    void parses_a_scripted_run() {
        StudioOptions options;
        QString error;
        QVERIFY2(
            options.parse({"lipar-studio", "--source", "/clips/dog.mp4", "--prompt",
                           "a watercolor painting", "--mode", "compare", "--pack", "/p",
                           "--resolution", "128x64", "--device", "cpu", "--autostart",
                           "--screenshot", "/tmp/s.png", "--quit-after-frames", "15", "--loop"},
                          &error),
            qPrintable(error));
        QCOMPARE(options.source, QStringLiteral("/clips/dog.mp4"));
        QCOMPARE(options.prompt, QStringLiteral("a watercolor painting"));
        QVERIFY(options.hasPrompt);
        QCOMPARE(options.mode, QStringLiteral("compare"));
        QCOMPARE(options.pack, QStringLiteral("/p"));
        QCOMPARE(options.resolution, QSize(128, 64));
        QCOMPARE(options.device, QStringLiteral("cpu"));
        QVERIFY(options.autostart);
        QVERIFY(options.loop);
        QCOMPARE(options.screenshot, QStringLiteral("/tmp/s.png"));
        QCOMPARE(options.quitAfterFrames, 15);
        QVERIFY(options.scripted());
    }

    void an_interactive_run_is_not_scripted() {
        StudioOptions options;
        QString error;
        QVERIFY(options.parse({"lipar-studio"}, &error));
        QVERIFY(!options.scripted());
        QVERIFY(!options.hasPrompt);
        QCOMPARE(options.quitAfterFrames, -1);
        QVERIFY(options.resolution.isEmpty());
    }

    void refuses_bad_values_naming_the_option() {
        const QList<QStringList> bad = {
            {"lipar-studio", "--mode", "turbo"},
            {"lipar-studio", "--resolution", "130x64"},
            {"lipar-studio", "--resolution", "640"},
            {"lipar-studio", "--quit-after-frames", "0"},
            {"lipar-studio", "--quit-after-frames", "many"},
            {"lipar-studio", "--no-such-option"},
            {"lipar-studio", "stray.mp4"},
        };
        const QStringList named = {"--mode",
                                   "--resolution",
                                   "--resolution",
                                   "--quit-after-frames",
                                   "--quit-after-frames",
                                   "no-such-option",
                                   "--source"};
        for (int i = 0; i < bad.size(); ++i) {
            StudioOptions options;
            QString error;
            QVERIFY2(!options.parse(bad[i], &error), qPrintable(bad[i].join(' ')));
            QVERIFY2(error.contains(named[i]), qPrintable(error));
        }
    }

    void parses_camera_and_file_sources() {
        const lipar::SourceSpec camera = SourcePicker::parseSource("camera:2", false);
        QCOMPARE(camera.kind, lipar::SourceSpec::Kind::Camera);
        QCOMPARE(camera.camera_index, 2);
        const lipar::SourceSpec sized = SourcePicker::parseSource("camera:0:1280x720", false);
        QCOMPARE(sized.camera_width, 1280);
        QCOMPARE(sized.camera_height, 720);
        QCOMPARE(SourcePicker::describeSource(sized), QStringLiteral("camera:0:1280x720"));
        QCOMPARE(SourcePicker::parseSource("camera:x", false).kind,
                 lipar::SourceSpec::Kind::Invalid);
        const lipar::SourceSpec file = SourcePicker::parseSource("/clips/a b.mp4", true);
        QCOMPARE(file.kind, lipar::SourceSpec::Kind::File);
        QCOMPARE(file.path, std::string("/clips/a b.mp4"));
        QVERIFY(file.loop);
        QCOMPARE(SourcePicker::describeSource(file), QStringLiteral("/clips/a b.mp4"));
        QCOMPARE(SourcePicker::parseSource(QString(), false).kind,
                 lipar::SourceSpec::Kind::Invalid);
    }
};

QTEST_MAIN(StudioOptionsTest)
#include "studio_options_test.moc"
