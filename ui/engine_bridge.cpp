#include "engine_bridge.h"

#include <mutex>

#include "error_advice.h"

// Threads that may outlive the bridge (engine threads, workers) reach it only through here; the
// destructor detaches the bridge under the lock, after which nothing is posted to it (and Qt
// discards what was posted before).
struct EngineBridge::Mailbox {
    std::mutex mutex;
    EngineBridge* bridge = nullptr;

    void post(std::function<void(EngineBridge&)> call) {
        std::lock_guard<std::mutex> lock(mutex);
        if (bridge != nullptr) {
            QMetaObject::invokeMethod(
                bridge, [target = bridge, call = std::move(call)] { call(*target); },
                Qt::QueuedConnection);
        }
    }

    void postDrain() {
        std::lock_guard<std::mutex> lock(mutex);
        if (bridge != nullptr) {
            QMetaObject::invokeMethod(bridge, &EngineBridge::drain, Qt::QueuedConnection);
        }
    }
};

EngineBridge::EngineBridge(QObject* parent)
    : QObject(parent), m_mailbox(std::make_shared<Mailbox>()) {
    qRegisterMetaType<lipar::EngineOutput>();
    qRegisterMetaType<lipar::EngineStats>();
    qRegisterMetaType<lipar::EngineState>();
    qRegisterMetaType<lipar::SourceSpec>();
    m_mailbox->bridge = this;
    m_statsTimer.setInterval(250);
    connect(&m_statsTimer, &QTimer::timeout, this, &EngineBridge::refresh);
    m_presentTimer.setSingleShot(true);
    m_presentTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_presentTimer, &QTimer::timeout, this, &EngineBridge::presentNext);
}

EngineBridge::~EngineBridge() {
    {
        std::lock_guard<std::mutex> lock(m_mailbox->mutex);
        m_mailbox->bridge = nullptr;
    }
    if (m_engine) {
        m_engineStopped->store(true);
        // Joins its threads (a recording is finished and stays playable). The object itself goes
        // with the last worker that still uses it.
        m_engine->stop();
        m_engine.reset();
    }
    joinWorkers(Join::Everything);
}

bool EngineBridge::start(const lipar::EngineConfig& config, const lipar::EditParams& params) {
    stop();
    m_config = config;
    m_stats = lipar::EngineStats{};
    m_framesDelivered = 0;
    m_framesAtLastPoll = 0;
    m_displayFps = 0;
    m_screenLatency.clear();
    m_pacer.resetDropped();
    m_engine = std::make_shared<lipar::Engine>();
    m_engineStopped = std::make_shared<std::atomic<bool>>(false);
    ++m_run;
    // Engine thread: post one queued call, nothing else.
    m_engine->set_wakeup([mailbox = m_mailbox] { mailbox->postDrain(); });
    const lipar::Status status = m_engine->start(config, params);
    if (!status.ok()) {
        m_engine.reset();  // never started and never shared: nothing to wait for
        setState(lipar::EngineState::Failed);
        report(status);
        return false;
    }
    setState(m_engine->state());
    m_fpsClock.start();
    m_statsTimer.start();
    return true;
}

void EngineBridge::stop() {
    joinWorkers(Join::Finished);
    if (!m_engine) {
        return;
    }
    m_statsTimer.stop();
    m_presentTimer.stop();
    m_pacer.clear();
    m_opening = false;
    m_hasPendingSource = false;
    ++m_run;
    m_engineStopped->store(true);
    // Stopping finishes the engine's recording, or one whose start is still in progress.
    const bool closesRecording = m_recording || isRecordingBusy();
    if (closesRecording) {
        beginRecordingJob();
    }
    // The wakeup stays (the engine allows replacing it only while stopped): until the disposal
    // thread has stopped this engine, a wakeup may still post a drain, which finds no engine or
    // the next one and takes nothing from this one.
    runWorker(false,
              [engine = std::move(m_engine), closesRecording, mailbox = m_mailbox]() mutable {
                  engine->stop();
                  engine.reset();
                  if (closesRecording) {
                      mailbox->post([](EngineBridge& bridge) { bridge.endRecordingJob(); });
                  }
              });
    m_engine.reset();
    m_displayFps = 0;
    if (m_recording) {
        m_recording = false;
        emit recordingChanged(false);
    }
    setState(lipar::EngineState::Stopped);
}

bool EngineBridge::openSource(const lipar::SourceSpec& source) {
    if (!m_engine) {
        return false;
    }
    if (m_opening) {
        m_pendingSource = source;
        m_hasPendingSource = true;
        return true;
    }
    beginOpen(source);
    return true;
}

void EngineBridge::beginOpen(const lipar::SourceSpec& source) {
    m_opening = true;
    runWorker(true, [engine = m_engine, source, run = m_run, mailbox = m_mailbox] {
        const lipar::Status status = engine->open_source(source);
        mailbox->post([run, source, status](EngineBridge& bridge) {
            bridge.finishOpen(run, source, status);
        });
    });
}

void EngineBridge::finishOpen(uint64_t run,
                              const lipar::SourceSpec& source,
                              const lipar::Status& status) {
    if (run != m_run || !m_engine) {
        return;  // for an engine stopped since
    }
    m_opening = false;
    if (m_hasPendingSource) {
        // Asked for after this one: its open replaces whatever this one opened.
        m_hasPendingSource = false;
        beginOpen(m_pendingSource);
        return;
    }
    if (!status.ok()) {
        if (m_engine->state() == lipar::EngineState::Failed) {
            drain();  // the cause (a pack that failed to load, ...) is what to show, not this
        } else {
            report(status);
        }
        return;
    }
    // What waits belongs to the previous source.
    m_presentTimer.stop();
    m_pacer.clear();
    m_screenLatency.clear();
    emit sourceOpened(source);
}

void EngineBridge::setPresentation(Presentation presentation) {
    m_presentation = presentation;
    if (presentation == Presentation::Latest) {
        m_presentTimer.stop();
        m_pacer.clear();
    }
}

void EngineBridge::setParams(const lipar::EditParams& params) {
    if (!m_engine) {
        return;
    }
    const lipar::Status status = m_engine->set_params(params);
    if (!status.ok()) {
        report(status);
    }
}

bool EngineBridge::startRecording(const QString& path, lipar::RecordContent content) {
    if (!m_engine) {
        report({lipar::StatusCode::InvalidArgument,
                "cannot record " + path.toStdString() + ": the engine is not running"});
        return false;
    }
    if (m_recording || isRecordingBusy()) {
        return false;  // one file at a time; the previous one is still open or being finished
    }
    beginRecordingJob();
    runWorker(false, [engine = m_engine, stopped = m_engineStopped, run = m_run,
                      path = path.toStdString(), content, mailbox = m_mailbox] {
        const lipar::Status status = engine->start_recording(path, content);
        if (status.ok() && stopped->load()) {
            engine->stop_recording();  // the engine's stop came first and did not see this file
        }
        mailbox->post(
            [run, status](EngineBridge& bridge) { bridge.finishStartRecording(run, status); });
    });
    return true;
}

void EngineBridge::finishStartRecording(uint64_t run, const lipar::Status& status) {
    if (status.ok() && run == m_run && m_engine) {
        m_recording = true;
        emit recordingChanged(true);
    }
    endRecordingJob();
    if (!status.ok()) {
        report(status);
    }
}

bool EngineBridge::stopRecording() {
    if (!m_engine || !m_recording) {
        return false;
    }
    m_recording = false;
    beginRecordingJob();
    emit recordingChanged(false);
    // Drains the writer's queue and closes the file: as long as the disk takes.
    runWorker(false, [engine = m_engine, mailbox = m_mailbox] {
        const lipar::Status status = engine->stop_recording();
        mailbox->post([status](EngineBridge& bridge) {
            bridge.endRecordingJob();
            if (!status.ok()) {
                bridge.report(status);
            }
        });
    });
    return true;
}

void EngineBridge::beginRecordingJob() {
    if (m_recordingJobs++ == 0) {
        emit recordingBusyChanged(true);
    }
}

void EngineBridge::endRecordingJob() {
    if (m_recordingJobs > 0 && --m_recordingJobs == 0) {
        emit recordingBusyChanged(false);
    }
}

PresentationStats EngineBridge::presentationStats() const {
    PresentationStats stats;
    stats.displayFps = m_displayFps;
    stats.latency = m_screenLatency.summary();
    stats.dropped = m_pacer.dropped();
    return stats;
}

void EngineBridge::refresh() {
    if (!m_engine) {
        return;
    }
    while (auto error = m_engine->take_error()) {
        report(*error);
        if (!m_engine) {
            return;
        }
    }
    m_stats = m_engine->stats();
    // Shown frames per second over windows of at least a second (like the engine's stats).
    const qint64 elapsedMs = m_fpsClock.isValid() ? m_fpsClock.elapsed() : 0;
    if (elapsedMs >= 1000) {
        m_displayFps = 1000.0 * static_cast<double>(m_framesDelivered - m_framesAtLastPoll) /
                       static_cast<double>(elapsedMs);
        m_framesAtLastPoll = m_framesDelivered;
        m_fpsClock.restart();
    }
    // The engine may end a recording by itself (e.g. a write error); keep the toggle honest.
    if (m_recording && !m_engine->recording()) {
        m_recording = false;
        emit recordingChanged(false);
    }
    emit statsUpdated(m_stats);
    setState(m_engine->state());
}

void EngineBridge::waitForStoppedEngines() {
    joinWorkers(Join::Bounded);
}

void EngineBridge::drain() {
    if (!m_engine) {
        return;
    }
    while (auto error = m_engine->take_error()) {
        report(*error);
        if (!m_engine) {
            return;
        }
    }
    if (m_presentation == Presentation::Latest) {
        if (m_engine->take_latest(m_output)) {
            notePresented();
            emit frameReady(m_output);  // a receiver may stop() the engine
        }
    } else {
        int taken = 0;
        while (m_engine->take_next(m_pacer.slotForNext())) {
            m_pacer.commit();
            ++taken;
        }
        m_pacer.noteBurst(taken);
        if (taken > 0 && !m_presentTimer.isActive()) {
            presentNext();
        }
    }
    if (m_engine) {
        setState(m_engine->state());
    }
}

void EngineBridge::presentNext() {
    if (!m_engine || !m_pacer.takeOldest(m_output)) {
        return;
    }
    notePresented();
    const int delayMs = m_pacer.delayAfter(m_output);
    emit frameReady(m_output);  // a receiver may stop() the engine
    if (m_engine && delayMs >= 0) {
        m_presentTimer.start(delayMs);
    }
}

void EngineBridge::notePresented() {
    ++m_framesDelivered;
    if (m_output.arrival_ns != 0) {
        m_screenLatency.add(lipar::latency_to_now_ms(m_output));
    }
}

void EngineBridge::report(const lipar::Status& status) {
    const ErrorAdvice advice(status);
    emit errorOccurred(advice.title(), advice.what(), advice.advice());
}

void EngineBridge::setState(lipar::EngineState state) {
    if (state == m_state) {
        return;
    }
    m_state = state;
    emit stateChanged(state);
}

void EngineBridge::runWorker(bool mayHang, std::function<void()> work) {
    joinWorkers(Join::Finished);
    auto done = std::make_shared<std::atomic<bool>>(false);
    Worker worker;
    worker.done = done;
    worker.mayHang = mayHang;
    worker.thread = std::thread([work = std::move(work), done]() mutable {
        work();
        work = nullptr;  // lets go of the engine here, before the thread counts as done
        done->store(true);
    });
    m_workers.push_back(std::move(worker));
}

void EngineBridge::joinWorkers(Join join) {
    for (auto it = m_workers.begin(); it != m_workers.end();) {
        const bool done = it->done->load();
        if (done || (join != Join::Finished && !it->mayHang)) {
            it->thread.join();
        } else if (join == Join::Everything) {
            it->thread.detach();  // blocked outside the program: it ends on its own
        } else {
            ++it;
            continue;
        }
        it = m_workers.erase(it);
    }
}
