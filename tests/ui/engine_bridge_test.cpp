// EngineBridge against the real engine: a tiny random pack on a real clip at 128x64 on the CPU.
// Frames arrive through the wakeup -> queued drain path as frameReady signals, stats update, the
// latency to the screen is measured, the engine keeps running through parameter and source
// changes, stopping is clean, and a missing pack is reported as an error naming its path.
// Engine-internal (LibTorch) headers first: Qt's `slots` macro would break them.
#include "core/device.h"
#include "pipeline/random_pack.h"

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>

#include "engine_bridge.h"

namespace {

const std::string kClip = std::string(LIPAR_SHARED_DIR) + "/data/clips/dog_grass_832x480.mp4";
constexpr int kTimeoutMs = 180000;  // a failure bound only; CPU CI is slow

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
};

QTEST_MAIN(EngineBridgeTest)
#include "engine_bridge_test.moc"
