// lipar::Engine: the controlling side of the runtime. It validates requests, owns the source and
// engine threads, and forwards everything else to the shared channels (runtime/engine_worker.h).
#include "lipar/engine.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "media/camera.h"
#include "media/output_file.h"
#include "media/video_source.h"
#include "runtime/engine_worker.h"
#include "runtime/source_thread.h"

namespace lipar {

// Threads: every method may be called from the controlling thread; push_frame() and
// end_of_stream() also from one producer thread at the same time. m_control serialises the
// methods that start or stop threads (start, stop, open/close_source, start/stop_recording); the
// others go straight to the shared objects, which lock themselves.
struct Engine::Impl {
    std::mutex control;
    runtime::EngineShared shared;
    // --- guarded by `control` ---
    std::unique_ptr<runtime::EngineWorker> worker;
    std::unique_ptr<runtime::SourceThread> source;
    double source_fps = 0;
    std::string source_path;  // the open file source (recordings must not overwrite it)
    bool stats_stale = false;  // stop() keeps the last run's stats readable until a new run

    void begin_run() {
        if (!stats_stale)
            return;
        shared.stats.clear();
        stats_stale = false;
    }

    void close_source_locked() {
        shared.input.close();  // refuses and releases the old producer before it is joined
        source.reset();
        source_fps = 0;
        source_path.clear();
    }

    void stop_locked() {
        shared.input.stop();
        shared.output.stop();
        source.reset();
        if (worker) {
            worker->join();  // after the block in progress, if any
            worker.reset();
        }
        const Status recorded = shared.recorder.stop();
        if (!recorded.ok())
            LIPAR_LOG_WARN("recording: ", recorded.to_string());
        close_source_locked();
        // Back to the state of a new Engine: ready for open_source() and start().
        shared.input.restart();
        shared.output.restart();
        shared.state = EngineState::Stopped;
        stats_stale = true;
    }
};

namespace {

Status invalid(const std::string& message) {
    return {StatusCode::InvalidArgument, message};
}

}  // namespace

Engine::Engine() : m_impl(std::make_unique<Impl>()) {}

Engine::~Engine() {
    stop();
}

Status Engine::start(const EngineConfig& config, const EditParams& params) {
    std::lock_guard<std::mutex> lock(m_impl->control);
    auto& shared = m_impl->shared;
    if (m_impl->worker) {
        if (shared.state != EngineState::Failed) {
            return invalid("the engine is already started; stop() it before starting again");
        }
        m_impl->stop_locked();
    }
    if (const std::string why = config.validate(); !why.empty()) {
        return invalid("invalid engine configuration: " + why);
    }
    if (const std::string why = params.validate(); !why.empty()) {
        return invalid("invalid edit parameters: " + why);
    }
    // Only the spelling is checked here: asking the driver about devices can take seconds (CUDA
    // initialisation), so the engine thread does it (a missing device fails the load).
    runtime::WorkerConfig wc;
    wc.engine = config;
    wc.cpu_threads = at::get_num_threads();

    m_impl->begin_run();
    shared.output.clear();
    shared.output.restart();
    shared.input.restart();
    shared.params.set(params);
    shared.model_width = 0;
    shared.model_height = 0;
    shared.state = EngineState::Loading;
    LIPAR_LOG_INFO("engine: starting with pack '", config.pack, "' on ", config.device, " (",
                   config.dtype, ")");
    m_impl->worker = std::make_unique<runtime::EngineWorker>(wc, shared);
    return {};
}

void Engine::stop() {
    std::lock_guard<std::mutex> lock(m_impl->control);
    m_impl->stop_locked();
}

Status Engine::open_source(const SourceSpec& spec) {
    if (spec.pacing != Pacing::Realtime && spec.pacing != Pacing::EveryFrame) {
        return invalid("source pacing must be Realtime or EveryFrame");
    }
    if (spec.kind == SourceSpec::Kind::Invalid) {
        return invalid("source kind must be File, Camera or External");
    }
    if (spec.kind == SourceSpec::Kind::File && spec.path.empty()) {
        return invalid("no video file given");
    }
    auto& shared = m_impl->shared;
    if (spec.kind == SourceSpec::Kind::Camera) {
        // The old source may hold this very device: let it go before opening.
        std::lock_guard<std::mutex> lock(m_impl->control);
        m_impl->close_source_locked();
    }
    // Opening may block (a camera that does not answer, a file on a slow or hung mount): it runs
    // without the control lock, so stop(), stats() and the other calls stay responsive meanwhile.
    std::unique_ptr<media::VideoSource> video;
    Status opened;
    if (spec.kind == SourceSpec::Kind::File) {
        opened = capture_status([&] {
            video = media::open_video(spec.path);
            if (spec.loop)
                video = std::make_unique<media::LoopingSource>(std::move(video));
        });
    } else if (spec.kind == SourceSpec::Kind::Camera) {
        opened = capture_status([&] {
            video = media::open_camera(spec.camera_index, spec.camera_width, spec.camera_height);
        });
    }
    if (!opened.ok())
        return opened;
    std::lock_guard<std::mutex> lock(m_impl->control);
    if (shared.state == EngineState::Failed) {
        return invalid("the engine has failed (see take_error()); stop() and start() it again");
    }
    m_impl->begin_run();
    m_impl->close_source_locked();
    const double fps = video ? video->info().fps : spec.fps;
    const uint64_t generation =
        shared.input.open(spec.pacing, spec.kind == SourceSpec::Kind::External, spec.max_frames);
    if (video) {
        m_impl->source = std::make_unique<runtime::SourceThread>(
            std::move(video), spec.pacing, shared.input, generation,
            [&shared](Status s) { shared.output.report_error(std::move(s)); });
    }
    m_impl->source_fps = fps > 0 ? fps : 30.0;
    m_impl->source_path = spec.kind == SourceSpec::Kind::File ? spec.path : std::string();
    LIPAR_LOG_INFO("engine: source ",
                   spec.kind == SourceSpec::Kind::File ? spec.path
                   : spec.kind == SourceSpec::Kind::Camera
                       ? "camera " + std::to_string(spec.camera_index)
                       : std::string("external"),
                   spec.pacing == Pacing::Realtime ? " (realtime)" : " (every frame)");
    return {};
}

void Engine::close_source() {
    std::lock_guard<std::mutex> lock(m_impl->control);
    m_impl->close_source_locked();
}

bool Engine::push_frame(Frame frame) {
    return m_impl->shared.input.push_external(std::move(frame));
}

void Engine::end_of_stream() {
    m_impl->shared.input.end_of_stream_external();
}

Status Engine::set_params(const EditParams& params) {
    if (const std::string why = params.validate(); !why.empty()) {
        return invalid("invalid edit parameters: " + why);
    }
    m_impl->shared.params.set(params);
    return {};
}

EditParams Engine::params() const {
    return m_impl->shared.params.get();
}

void Engine::reset_stream() {
    m_impl->shared.input.request_reset();
}

bool Engine::take_latest(EngineOutput& out) {
    return m_impl->shared.output.take_latest(out);
}

bool Engine::take_next(EngineOutput& out) {
    return m_impl->shared.output.take_next(out);
}

void Engine::set_wakeup(std::function<void()> wakeup) {
    m_impl->shared.output.set_wakeup(std::move(wakeup));
}

EngineState Engine::state() const {
    return m_impl->shared.state;
}

EngineStats Engine::stats() const {
    EngineStats s = m_impl->shared.stats.snapshot(runtime::Clock::now());
    s.dropped_output = m_impl->shared.output.dropped();
    return s;
}

std::optional<Status> Engine::take_error() {
    return m_impl->shared.output.take_error();
}

Status Engine::start_recording(const std::string& path, RecordContent content) {
    std::lock_guard<std::mutex> lock(m_impl->control);
    auto& shared = m_impl->shared;
    const Status same = capture_status(
        [&] { media::refuse_overwriting_inputs(path, {m_impl->source_path}); });
    if (!same.ok())
        return same;
    return shared.recorder.start(path, content, m_impl->source_fps, shared.model_width,
                                 shared.model_height);
}

Status Engine::stop_recording() {
    std::lock_guard<std::mutex> lock(m_impl->control);
    return m_impl->shared.recorder.stop();
}

bool Engine::recording() const {
    return m_impl->shared.recorder.active();
}

}  // namespace lipar
