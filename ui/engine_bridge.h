#pragma once
// The GUI's only handle on the engine: a QObject that owns a lipar::Engine.
//
// Threading: an EngineBridge lives on the GUI thread and all its methods are called there. The
// engine calls the wakeup callback on one of its own threads (at most once between two take_*()
// calls); the callback only posts one queued call of drain() to this object, and drain() takes
// the results, errors and state on the GUI thread. Stats are polled with a timer.
//
// Results are shown paced (Presentation::Paced, the default: every result, taken with take_next
// and played out at the source's frame rate by a FramePacer, because the engine publishes a block
// of frames at once) or newest-only (Presentation::Latest: take_latest, lowest latency). Each
// result shown adds its latency (source frame arrival -> shown) to presentationStats().
//
// Nothing here waits on model work: stop() hands the engine to a disposal thread (an engine's
// destructor joins its threads and finishes an open recording). The destructor waits for every
// engine it ever owned, so no engine thread outlives the bridge.

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "engine_metatypes.h"
#include "frame_pacer.h"
#include "presentation_stats.h"

class EngineBridge : public QObject {
    Q_OBJECT

  public:
    enum class Presentation { Invalid = 0, Paced, Latest };

    explicit EngineBridge(QObject* parent = nullptr);
    ~EngineBridge() override;

    // Starts a fresh engine (stopping a running one first); it loads the pack in the background
    // (state Loading, then Ready or an errorOccurred). False (and errorOccurred) for a config the
    // engine refuses at once.
    bool start(const lipar::EngineConfig& config, const lipar::EditParams& params);
    void stop();
    bool isActive() const { return m_engine != nullptr; }

    bool openSource(const lipar::SourceSpec& source);
    void setParams(const lipar::EditParams& params);
    bool startRecording(const QString& path, lipar::RecordContent content);
    bool stopRecording();
    bool isRecording() const;

    lipar::EngineState state() const { return m_state; }
    const lipar::EngineStats& stats() const { return m_stats; }
    const lipar::EngineConfig& config() const { return m_config; }
    // The result last emitted by frameReady (its buffers are reused for the next one).
    const lipar::EngineOutput& latestOutput() const { return m_output; }
    int64_t framesDelivered() const { return m_framesDelivered; }
    double displayFps() const { return m_displayFps; }
    // Shown FPS, latency to the screen of the last results shown, results dropped before shown.
    PresentationStats presentationStats() const;

    void setPresentation(Presentation presentation);
    Presentation presentation() const { return m_presentation; }
    // Results received but not shown yet (paced presentation).
    int framesWaiting() const { return m_pacer.size(); }

    void setStatsInterval(int ms) { m_statsTimer.setInterval(ms); }
    // Polls stats and state now (also done by the timer).
    void refresh();
    // Waits until every stopped engine has finished shutting down (tests, application exit).
    void waitForStoppedEngines();

  signals:
    void frameReady(const lipar::EngineOutput& output);
    void statsUpdated(const lipar::EngineStats& stats);
    // title: a few words; what: what happened (the engine's message, naming the file, value or
    // device); advice: what the user can do about it.
    void errorOccurred(const QString& title, const QString& what, const QString& advice);
    void stateChanged(lipar::EngineState state);
    void recordingChanged(bool recording);

  private:
    struct Disposal {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };

    void drain();
    void presentNext();
    void notePresented();
    void report(const lipar::Status& status);
    void setState(lipar::EngineState state);
    void joinFinishedDisposals(bool all);

    std::unique_ptr<lipar::Engine> m_engine;
    lipar::EngineConfig m_config;
    lipar::EngineOutput m_output;
    lipar::EngineStats m_stats;
    lipar::EngineState m_state = lipar::EngineState::Stopped;
    bool m_recording = false;
    Presentation m_presentation = Presentation::Paced;
    FramePacer m_pacer;
    lipar::LatencyTracker m_screenLatency;
    QTimer m_presentTimer;
    QTimer m_statsTimer;
    QElapsedTimer m_fpsClock;
    int64_t m_framesDelivered = 0;
    int64_t m_framesAtLastPoll = 0;
    double m_displayFps = 0;
    std::vector<Disposal> m_disposals;
};
