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
// The GUI thread never waits on model work, files or devices: stop() hands the engine to a
// disposal thread (an engine's destructor joins its threads and finishes an open recording);
// opening a source and starting or finishing a recording run on worker threads, which report
// back with queued calls. The engine is shared with those threads, so it lives until the last of
// them is done. The destructor waits for the disposals and the recording workers; it cannot wait
// for an open that hangs (a FIFO without a writer, a dead network mount): that worker is left to
// finish on its own, posts nothing once the bridge is gone, and destroys its engine (already
// stopped) when the open returns.

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>
#include <atomic>
#include <functional>
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

    // Opens the source on a worker thread (a camera, or a file on a slow mount, can take seconds;
    // a FIFO waits for its writer); the previous source plays on meanwhile. sourceOpened or
    // errorOccurred tells how it went. A request made while a source is opening waits for that
    // open to end (only the newest waits), so the last one asked for is the one that plays.
    // False when no engine runs.
    bool openSource(const lipar::SourceSpec& source);
    bool isOpeningSource() const { return m_opening; }
    void setParams(const lipar::EditParams& params);
    // Recording files are opened (startRecording) and finished (stopRecording, which drains the
    // writer) on worker threads: recordingChanged(true) once the file is open, (false) as soon
    // as the stop is asked; recordingBusyChanged(true) while a file is being opened or finished,
    // during which no other recording can start. False when the request cannot be made.
    bool startRecording(const QString& path, lipar::RecordContent content);
    bool stopRecording();
    bool isRecording() const { return m_recording; }
    bool isRecordingBusy() const { return m_recordingJobs > 0; }

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
    // Waits until every stopped engine has finished shutting down and every recording file being
    // finished is closed (tests, application exit). Opens still in progress are not waited for.
    void waitForStoppedEngines();

  signals:
    void frameReady(const lipar::EngineOutput& output);
    void statsUpdated(const lipar::EngineStats& stats);
    // title: a few words; what: what happened (the engine's message, naming the file, value or
    // device); advice: what the user can do about it.
    void errorOccurred(const QString& title, const QString& what, const QString& advice);
    void stateChanged(lipar::EngineState state);
    void sourceOpened(const lipar::SourceSpec& source);
    void recordingChanged(bool recording);
    void recordingBusyChanged(bool busy);

  private:
    struct Mailbox;
    enum class Join { Finished, Bounded, Everything };
    struct Worker {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
        bool mayHang = false;  // waits on something outside the program (opening a source)
    };

    void drain();
    void presentNext();
    void notePresented();
    void report(const lipar::Status& status);
    void setState(lipar::EngineState state);
    void beginOpen(const lipar::SourceSpec& source);
    void finishOpen(uint64_t run, const lipar::SourceSpec& source, const lipar::Status& status);
    void finishStartRecording(uint64_t run, const lipar::Status& status);
    void beginRecordingJob();
    void endRecordingJob();
    // Runs work on a thread of its own; work posts its outcome through the mailbox.
    void runWorker(bool mayHang, std::function<void()> work);
    // Finished: joins the workers that are done; Bounded: also waits for the others except those
    // that may hang; Everything (destructor): lets those go as well.
    void joinWorkers(Join join);

    std::shared_ptr<Mailbox> m_mailbox;
    std::shared_ptr<lipar::Engine> m_engine;
    // Set when this run's engine is stopped (read by the workers that still use it).
    std::shared_ptr<std::atomic<bool>> m_engineStopped;
    uint64_t m_run = 0;  // which engine a worker's outcome belongs to
    lipar::EngineConfig m_config;
    lipar::EngineOutput m_output;
    lipar::EngineStats m_stats;
    lipar::EngineState m_state = lipar::EngineState::Stopped;
    bool m_opening = false;
    bool m_hasPendingSource = false;
    lipar::SourceSpec m_pendingSource;
    bool m_recording = false;
    int m_recordingJobs = 0;
    Presentation m_presentation = Presentation::Paced;
    FramePacer m_pacer;
    lipar::LatencyTracker m_screenLatency;
    QTimer m_presentTimer;
    QTimer m_statsTimer;
    QElapsedTimer m_fpsClock;
    int64_t m_framesDelivered = 0;
    int64_t m_framesAtLastPoll = 0;
    double m_displayFps = 0;
    std::vector<Worker> m_workers;
};
