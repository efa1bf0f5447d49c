// EngineBridge against the real engine: a tiny random pack on a real clip at 128x64 on the CPU.
// Frames arrive through the wakeup -> queued drain path as frameReady signals, stats update, the
// latency to the screen is measured, the engine keeps running through parameter and source
// changes, stopping is clean, and a missing pack is reported as an error naming its path. Opening
// a source and opening or finishing a recording never block the GUI thread: a FIFO nobody writes
// to hangs its open while the event loop and the bridge go on.
// Engine-internal (LibTorch) headers first: Qt's `slots` macro would break them.
#include "core/device.h"
#include "pipeline/random_pack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "engine_bridge.h"

namespace {

const std::string kClip = std::string(LIPAR_SHARED_DIR) + "/data/clips/dog_grass_832x480.mp4";
constexpr int kTimeoutMs = 180000;  // a failure bound only; CPU CI is slow

// Opens the write end of a FIFO once a reader is inside open() (a non-blocking writer is refused
// with ENXIO until then), processing the GUI's events meanwhile. -1 on another error.
int openWriterOnceReaderWaits(const QString& fifo) {
    const QByteArray path = QFile::encodeName(fifo);
    for (;;) {
        const int fd = ::open(path.constData(), O_WRONLY | O_NONBLOCK);
        if (fd >= 0 || errno != ENXIO) {
            return fd;
        }
        QCoreApplication::processEvents();
        std::this_thread::yield();
    }
}

}  // namespace

class EngineBridgeTest : public QObject {
    Q_OBJECT

  private:
    lipar::EngineConfig config() const {
        lipar::EngineConfig c;
        c.pack = m_pack;
        c.device = "cpu";
        c.width = 128;
        c.height = 64;
        c.prompt_cache_dir = m_dir.filePath(QStringLiteral("prompts")).toStdString();
        return c;
    }

    static lipar::EditParams params(lipar::EditMode mode) {
        lipar::EditParams p;
        p.prompt = "a watercolor painting";
        p.mode = mode;
        return p;
    }

    QTemporaryDir m_dir;
    std::string m_pack;

  private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        if (!std::filesystem::exists(kClip)) {
            QSKIP("the shared clip is missing");
        }
        lipar::use_all_cpu_threads();
        lipar::pipeline::RandomPackOptions options;
        options.config = "tiny";
        options.out = m_dir.filePath(QStringLiteral("pack")).toStdString();
        options.seed = 11;
        lipar::pipeline::write_random_pack(options);
        m_pack = options.out;
    }

    void frames_arrive_through_the_signal_and_stats_update() {
        EngineBridge bridge;
        bridge.setStatsInterval(50);
        QSignalSpy frames(&bridge, &EngineBridge::frameReady);
        QSignalSpy stats(&bridge, &EngineBridge::statsUpdated);
        QSignalSpy errors(&bridge, &EngineBridge::errorOccurred);
        QVERIFY(bridge.start(config(), params(lipar::EditMode::Lipar)));
        QVERIFY(bridge.isActive());
        QVERIFY(bridge.openSource(lipar::SourceSpec::file(kClip, true)));

        QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= 3 || !errors.isEmpty(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));
        const lipar::EngineOutput& out = bridge.latestOutput();
        QCOMPARE(out.output.width, 128);
        QCOMPARE(out.output.height, 64);
        QCOMPARE(out.input.width, 128);
        QVERIFY(out.baseline.empty());
        QCOMPARE(out.mode, lipar::EditMode::Lipar);
        QCOMPARE(static_cast<int>(out.keep_mask.size()), out.mask_width * out.mask_height);
        QVERIFY(out.mask_width > 0);
        QCOMPARE(bridge.framesDelivered(), static_cast<int64_t>(frames.count()));
        const int64_t firstIndex = frames.first().at(0).value<lipar::EngineOutput>().index;
        QVERIFY(out.index > firstIndex);

        // Each result shown was measured from its source frame's arrival to the screen, which is
        // after the engine had it ready.
        const PresentationStats shown = bridge.presentationStats();
        QCOMPARE(shown.latency.frames, bridge.framesDelivered());
        QVERIFY2(
            shown.latency.max_ms >= out.latency_ms,
            qPrintable(QStringLiteral("%1 < %2").arg(shown.latency.max_ms).arg(out.latency_ms)));
        QVERIFY(shown.latency.p50_ms > 0);
        QVERIFY(shown.latency.p50_ms <= shown.latency.p95_ms);
        QVERIFY(shown.latency.p95_ms <= shown.latency.max_ms);

        QTRY_VERIFY_WITH_TIMEOUT(bridge.stats().frames_out >= 3, kTimeoutMs);
        QVERIFY(!stats.isEmpty());
        QVERIFY(bridge.stats().latency.frames > 0);
        QVERIFY(bridge.stats().untrained);
        QVERIFY(!bridge.stats().device.empty());
        QVERIFY(bridge.state() == lipar::EngineState::Running ||
                bridge.state() == lipar::EngineState::Ready);

        bridge.stop();
        QCOMPARE(bridge.state(), lipar::EngineState::Stopped);
        QVERIFY(!bridge.isActive());
        bridge.waitForStoppedEngines();
        const int delivered = frames.count();
        QCoreApplication::processEvents();
        QCOMPARE(frames.count(), delivered);  // nothing arrives from a stopped engine
        QVERIFY(errors.isEmpty());
    }

    void compare_mode_delivers_both_sides_and_their_timings() {
        EngineBridge bridge;
        bridge.setStatsInterval(50);
        QSignalSpy frames(&bridge, &EngineBridge::frameReady);
        QSignalSpy errors(&bridge, &EngineBridge::errorOccurred);
        QVERIFY(bridge.start(config(), params(lipar::EditMode::Compare)));
        QVERIFY(bridge.openSource(lipar::SourceSpec::file(kClip, true)));
        QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= 2 || !errors.isEmpty(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));
        const lipar::EngineOutput& out = bridge.latestOutput();
        QCOMPARE(out.baseline.width, 128);
        QCOMPARE(out.baseline.height, 64);
        QCOMPARE(out.output.width, 128);
        QTRY_VERIFY_WITH_TIMEOUT(
            bridge.stats().baseline_ms_per_frame > 0 && bridge.stats().lipar_ms_per_frame > 0,
            kTimeoutMs);
    }

    void keeps_delivering_through_prompt_mode_and_source_changes() {
        EngineBridge bridge;
        QSignalSpy frames(&bridge, &EngineBridge::frameReady);
        QSignalSpy errors(&bridge, &EngineBridge::errorOccurred);
        QVERIFY(bridge.start(config(), params(lipar::EditMode::Lipar)));
        QVERIFY(bridge.openSource(lipar::SourceSpec::file(kClip, true)));
        QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= 1 || !errors.isEmpty(), kTimeoutMs);

        lipar::EditParams changed = params(lipar::EditMode::Naive);
        changed.prompt = "a pencil sketch";
        bridge.setParams(changed);
        QVERIFY(bridge.openSource(lipar::SourceSpec::file(kClip, true)));
        QTRY_VERIFY_WITH_TIMEOUT(
            bridge.latestOutput().mode == lipar::EditMode::Naive || !errors.isEmpty(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));
        // Destroying a running bridge stops and joins its engine.
    }

    void a_missing_pack_is_an_error_naming_the_path() {
        EngineBridge bridge;
        QSignalSpy errors(&bridge, &EngineBridge::errorOccurred);
        QSignalSpy states(&bridge, &EngineBridge::stateChanged);
        lipar::EngineConfig bad = config();
        bad.pack = m_dir.filePath(QStringLiteral("no-such-pack")).toStdString();
        if (bridge.start(bad, params(lipar::EditMode::Lipar))) {
            bridge.openSource(lipar::SourceSpec::file(kClip, true));
        }
        QTRY_VERIFY_WITH_TIMEOUT(!errors.isEmpty(), kTimeoutMs);
        const QString what = errors.first().at(1).toString();
        QVERIFY2(what.contains(QString::fromStdString(bad.pack)), qPrintable(what));
        QVERIFY(!errors.first().at(2).toString().isEmpty());  // what to do
        QTRY_COMPARE_WITH_TIMEOUT(bridge.state(), lipar::EngineState::Failed, kTimeoutMs);
    }

    void an_open_that_blocks_leaves_the_event_loop_running() {
        const QString fifo = m_dir.filePath(QStringLiteral("hanging.mp4"));
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        EngineBridge bridge;
        bridge.setStatsInterval(20);
        QSignalSpy errors(&bridge, &EngineBridge::errorOccurred);
        QSignalSpy opened(&bridge, &EngineBridge::sourceOpened);
        QSignalSpy stats(&bridge, &EngineBridge::statsUpdated);
        int ticks = 0;
        QTimer ticker;
        ticker.setInterval(1);
        connect(&ticker, &QTimer::timeout, [&ticks] { ++ticks; });
        ticker.start();
        QVERIFY(bridge.start(config(), params(lipar::EditMode::Lipar)));

        // Returns at once although the open waits for a writer.
        QVERIFY(bridge.openSource(lipar::SourceSpec::file(fifo.toStdString())));
        QVERIFY(bridge.isOpeningSource());
        const int writer = openWriterOnceReaderWaits(fifo);
        QVERIFY2(writer >= 0, strerror(errno));
        // The reader now waits for the header that never comes: the GUI thread goes on.
        const int ticksBefore = ticks;
        const int statsBefore = stats.count();
        QTRY_VERIFY_WITH_TIMEOUT(ticks >= ticksBefore + 5 && stats.count() >= statsBefore + 3,
                                 kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(bridge.state(), lipar::EngineState::Ready, kTimeoutMs);
        bridge.setParams(params(lipar::EditMode::Naive));
        QVERIFY(bridge.isOpeningSource());
        QVERIFY(errors.isEmpty());
        QVERIFY(opened.isEmpty());

        ::close(writer);  // end of file before any header: not a video
        QTRY_VERIFY_WITH_TIMEOUT(!errors.isEmpty(), kTimeoutMs);
        QCOMPARE(errors.count(), 1);
        QVERIFY2(errors.first().at(1).toString().contains(fifo),
                 qPrintable(errors.first().at(1).toString()));
        QVERIFY(!errors.first().at(2).toString().isEmpty());  // what to do
        QVERIFY(!bridge.isOpeningSource());
        QVERIFY(opened.isEmpty());
        QCOMPARE(bridge.state(), lipar::EngineState::Ready);  // the engine is fine
    }

    void a_source_asked_for_while_another_opens_plays_after_it() {
        const QString fifo = m_dir.filePath(QStringLiteral("slow.mp4"));
        QCOMPARE(::mkfifo(QFile::encodeName(fifo).constData(), 0600), 0);
        EngineBridge bridge;
        QSignalSpy errors(&bridge, &EngineBridge::errorOccurred);
        QSignalSpy opened(&bridge, &EngineBridge::sourceOpened);
        QSignalSpy frames(&bridge, &EngineBridge::frameReady);
        QVERIFY(bridge.start(config(), params(lipar::EditMode::Lipar)));
        QVERIFY(bridge.openSource(lipar::SourceSpec::file(fifo.toStdString())));
        const int writer = openWriterOnceReaderWaits(fifo);
        QVERIFY2(writer >= 0, strerror(errno));
        // Asked for while the FIFO hangs: it waits for that open, then replaces it.
        QVERIFY(bridge.openSource(lipar::SourceSpec::file(kClip, true)));
        QVERIFY(bridge.isOpeningSource());
        ::close(writer);
        QTRY_VERIFY_WITH_TIMEOUT(opened.count() == 1 || !errors.isEmpty(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));  // superseded
        QCOMPARE(opened.first().at(0).value<lipar::SourceSpec>().path, kClip);
        QVERIFY(!bridge.isOpeningSource());
        QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= 2 || !errors.isEmpty(), kTimeoutMs);
        QVERIFY(errors.isEmpty());
    }

    void recording_files_open_and_close_off_the_gui_thread() {
        EngineBridge bridge;
        QSignalSpy errors(&bridge, &EngineBridge::errorOccurred);
        QSignalSpy frames(&bridge, &EngineBridge::frameReady);
        QSignalSpy recording(&bridge, &EngineBridge::recordingChanged);
        QSignalSpy busy(&bridge, &EngineBridge::recordingBusyChanged);
        QVERIFY(bridge.start(config(), params(lipar::EditMode::Lipar)));
        QVERIFY(bridge.openSource(lipar::SourceSpec::file(kClip, true)));
        QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= 1 || !errors.isEmpty(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));

        const QString path = m_dir.filePath(QStringLiteral("take.y4m"));
        QVERIFY(bridge.startRecording(path, lipar::RecordContent::Output));
        // The file opens in the background; meanwhile no second recording can start.
        QVERIFY(bridge.isRecordingBusy());
        QVERIFY(!bridge.isRecording());
        QVERIFY(!bridge.startRecording(m_dir.filePath(QStringLiteral("other.y4m")),
                                       lipar::RecordContent::Output));
        QTRY_VERIFY_WITH_TIMEOUT(bridge.isRecording() || !errors.isEmpty(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));
        QVERIFY(!bridge.isRecordingBusy());
        // Every result the engine publishes from now on goes to the file.
        bridge.refresh();
        const int64_t published = bridge.stats().frames_out;
        QTRY_VERIFY_WITH_TIMEOUT(bridge.stats().frames_out >= published + 2, kTimeoutMs);

        // Returns before the writer is drained and the file closed.
        QVERIFY(bridge.stopRecording());
        QVERIFY(!bridge.isRecording());
        QVERIFY(bridge.isRecordingBusy());
        QTRY_VERIFY_WITH_TIMEOUT(!bridge.isRecordingBusy(), kTimeoutMs);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.value(0).value(1).toString()));
        QCOMPARE(recording.count(), 2);
        QCOMPARE(recording.at(0).at(0).toBool(), true);
        QCOMPARE(recording.at(1).at(0).toBool(), false);
        QCOMPARE(busy.count(), 4);  // opening, open, finishing, closed
        QCOMPARE(busy.at(2).at(0).toBool(), true);
        QCOMPARE(busy.at(3).at(0).toBool(), false);
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray bytes = file.readAll();
        QVERIFY(bytes.startsWith("YUV4MPEG2 W128 H64"));
        QVERIFY2(bytes.count("FRAME\n") >= 2, qPrintable(QString::number(bytes.count("FRAME\n"))));
        QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("take.partial.y4m"))));
    }
};

QTEST_MAIN(EngineBridgeTest)
#include "engine_bridge_test.moc"
