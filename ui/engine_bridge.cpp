#include "engine_bridge.h"

#include "error_advice.h"

EngineBridge::EngineBridge(QObject* parent) : QObject(parent) {
    qRegisterMetaType<lipar::EngineOutput>();
    qRegisterMetaType<lipar::EngineStats>();
    qRegisterMetaType<lipar::EngineState>();
    m_statsTimer.setInterval(250);
    connect(&m_statsTimer, &QTimer::timeout, this, &EngineBridge::refresh);
    m_presentTimer.setSingleShot(true);
    m_presentTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_presentTimer, &QTimer::timeout, this, &EngineBridge::presentNext);
}

EngineBridge::~EngineBridge() {
    // Joins its threads (a recording is finished and stays playable). A wakeup that comes
    // meanwhile only posts a drain to this object, which Qt discards with it.
    m_engine.reset();
    waitForStoppedEngines();
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
    m_engine = std::make_unique<lipar::Engine>();
    // Engine thread: post one queued call, nothing else.
    m_engine->set_wakeup(
        [this] { QMetaObject::invokeMethod(this, &EngineBridge::drain, Qt::QueuedConnection); });
    const lipar::Status status = m_engine->start(config, params);
    if (!status.ok()) {
        m_engine.reset();  // never started: nothing to wait for
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
    joinFinishedDisposals(false);
    if (!m_engine) {
        return;
    }
    m_statsTimer.stop();
    m_presentTimer.stop();
    m_pacer.clear();
    // The wakeup stays (the engine allows replacing it only while stopped): until the disposal
    // thread has stopped this engine, a wakeup may still post a drain, which finds no engine or
    // the next one and takes nothing from this one.
    auto done = std::make_shared<std::atomic<bool>>(false);
    Disposal disposal;
    disposal.done = done;
    disposal.thread = std::thread([engine = std::move(m_engine), done]() mutable {
        engine.reset();
        done->store(true);
    });
    m_disposals.push_back(std::move(disposal));
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
    const lipar::Status status = m_engine->open_source(source);
    if (!status.ok()) {
        if (m_engine->state() == lipar::EngineState::Failed) {
            drain();  // the cause (a pack that failed to load, ...) is what to show, not this
        } else {
            report(status);
        }
        return false;
    }
    // What waits belongs to the previous source.
    m_presentTimer.stop();
    m_pacer.clear();
    m_screenLatency.clear();
    return true;
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
    const lipar::Status status = m_engine->start_recording(path.toStdString(), content);
    if (!status.ok()) {
        report(status);
        return false;
    }
    m_recording = true;
    emit recordingChanged(true);
    return true;
}

bool EngineBridge::stopRecording() {
    if (!m_engine || !m_recording) {
        return false;
    }
    // Finishing the file happens on the engine's writer thread.
    const lipar::Status status = m_engine->stop_recording();
    m_recording = false;
    emit recordingChanged(false);
    if (!status.ok()) {
        report(status);
        return false;
    }
    return true;
}

bool EngineBridge::isRecording() const {
    return m_recording;
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
    joinFinishedDisposals(true);
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

void EngineBridge::joinFinishedDisposals(bool all) {
    for (auto it = m_disposals.begin(); it != m_disposals.end();) {
        if (all || it->done->load()) {
            it->thread.join();
            it = m_disposals.erase(it);
        } else {
            ++it;
        }
    }
}
