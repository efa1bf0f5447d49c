#include "runtime/engine_worker.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/device.h"
#include "core/error.h"
#include "core/gpu_memory.h"
#include "core/log.h"
#include "core/timer.h"
#include "pipeline/editor.h"
#include "pipeline/model_pack.h"
#include "runtime/thread_name.h"

namespace lipar::runtime {

void ParamsBox::set(const EditParams& params) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_params = params;
    ++m_version;
}

EditParams ParamsBox::get() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_params;
}

bool ParamsBox::get_if_newer(uint64_t& seen_version, EditParams& out) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (seen_version == m_version)
        return false;
    seen_version = m_version;
    out = m_params;
    return true;
}

EngineShared::EngineShared()
    : input(stats),
      recorder([this](Status s) { output.report_error(std::move(s)); },
               [this](double latency_ms) { stats.on_recorded(latency_ms); }) {}

EngineWorker::EngineWorker(const WorkerConfig& config, EngineShared& shared)
    : m_config(config), m_shared(shared) {
    m_thread = std::thread([this] { run(); });
}

EngineWorker::~EngineWorker() {
    join();
}

void EngineWorker::join() {
    if (m_thread.joinable())
        m_thread.join();
}

void EngineWorker::set_state(EngineState state) {
    const EngineState old = m_shared.state.exchange(state);
    if (old != state)
        m_shared.output.notify();
}

void EngineWorker::fail(const Status& status) {
    LIPAR_LOG_ERROR("engine: ", status.to_string());
    m_shared.state = EngineState::Failed;
    // Producers must not wait for an engine that no longer takes frames.
    m_shared.input.stop();
    m_shared.output.report_error(status);
}

void EngineWorker::run() {
    set_thread_name("lipar-engine");
    // The model runs without autograd; everything the editor allocates stays on this thread.
    c10::InferenceMode inference;
    // OpenMP thread counts are per thread: take the controlling thread's (use_all_cpu_threads).
    if (m_config.cpu_threads > 0 && at::get_num_threads() != m_config.cpu_threads) {
        at::set_num_threads(m_config.cpu_threads);
    }
    if (!load())
        return;
    loop();
    m_shared.stats.set_text_status_source({});
    m_editor.reset();
    if (m_config.cuda)
        release_cached_gpu_memory();
}

bool EngineWorker::load() {
    const EngineConfig& c = m_config.engine;
    try {
        // Device queries may take seconds (CUDA initialisation): here, not on the caller's thread.
        const torch::Device device = parse_device(c.device);
        m_config.cuda = device.is_cuda();
        m_config.device_index = device.has_index() ? device.index() : 0;
        m_config.dtype = static_cast<int>(parse_dtype(c.dtype, device));
        const pipeline::ModelPack pack = pipeline::ModelPack::load(c.pack);
        pipeline::EditorSettings settings;
        settings.width = c.width;
        settings.height = c.height;
        settings.frames_per_block = c.latent_frames_per_block;
        if (c.kv_sink >= 0 || c.kv_recent >= 0) {
            settings.attention = pipeline::pack_attention_window(pack);
            if (c.kv_sink >= 0) settings.attention->sink = c.kv_sink;
            if (c.kv_recent >= 0) settings.attention->recent = c.kv_recent;
        }
        settings.device =
            m_config.cuda
                ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(m_config.device_index))
                : torch::Device(torch::kCPU);
        settings.dtype = static_cast<torch::Dtype>(m_config.dtype);
        settings.prompt_cache_dir = c.prompt_cache_dir;
        settings.kept_bucket = c.kept_bucket;
        (c.split_tokens ? settings.token_workers : settings.pipeline_stages) = c.gpus;
        m_editor = std::make_unique<pipeline::Editor>(pack, settings);
    } catch (...) {
        Status s = status_from_current_exception();
        if (s.code != StatusCode::DeviceError && s.message.find(c.pack) == std::string::npos) {
            s.message = "cannot load model pack '" + c.pack + "': " + s.message;
        }
        fail(s);
        return false;
    }
    m_shared.input.set_block_frames(m_editor->source_frames_per_block());
    m_shared.output.set_capacity(static_cast<size_t>(2 * m_editor->source_frames_per_block()));
    m_shared.model_width = m_editor->width();
    m_shared.model_height = m_editor->height();
    m_shared.stats.set_identity(m_editor->device_name(), m_editor->pack().name,
                                m_editor->pack().untrained, m_editor->pack().styles);
    m_shared.stats.set_text_status_source(
        [editor = m_editor.get()] { return editor->prompt_status(); });
    if (m_editor->pack().untrained) {
        LIPAR_LOG_WARN("model pack '", m_editor->pack().name,
                       "' holds random (untrained) weights: its output is noise");
    }
    set_state(EngineState::Ready);
    return true;
}

void EngineWorker::loop() {
    for (;;) {
        InputEvent event = m_shared.input.wait_event(frames_needed());
        switch (event.kind) {
            case InputEvent::Kind::Stop:
                return;
            case InputEvent::Kind::Reset:
                reset_stream(nullptr);
                // A new source after the end of the last one: waiting for its frames.
                if (m_shared.state == EngineState::Finished)
                    set_state(EngineState::Ready);
                break;
            case InputEvent::Kind::Frame:
                handle_frames(std::move(event.frames), event.pacing);
                break;
            case InputEvent::Kind::EndOfStream:
                handle_end_of_stream(event.pacing);
                break;
        }
        if (m_shared.state == EngineState::Failed)
            return;
    }
}

void EngineWorker::reset_stream(const char* why) {
    m_editor->reset();
    m_pending.clear();
    m_block_frames.clear();
    m_editor_next = 0;
    m_push_ms = 0;
    if (why != nullptr) {
        m_shared.stats.on_stream_reset();
        LIPAR_LOG_DEBUG("engine: stream reset (", why, ")");
    }
}

void EngineWorker::apply_params() {
    EditParams params;
    if (!m_shared.params.get_if_newer(m_params_version, params))
        return;
    // Validated by Engine::set_params; a refusal here would be a bug, reported like any error.
    m_editor->set_params(params);
}

int64_t EngineWorker::frames_needed() const {
    if (!m_editor)
        return 1;
    const int64_t block = m_editor->source_frames_per_block();
    return std::max<int64_t>(1, block - static_cast<int64_t>(m_block_frames.size()));
}

void EngineWorker::handle_frames(std::vector<InputFrame> frames, Pacing pacing) {
    // Live sources never stop for a new prompt (it is encoded aside and swapped in when ready);
    // exports apply it exactly at the next block.
    m_editor->set_async_prompts(pacing == Pacing::Realtime);
    for (auto& input : frames) {
        std::vector<pipeline::EditedFrame> edited;
        if (!run_guarded(&input, edited))
            return;
        if (m_shared.state == EngineState::Ready || m_shared.state == EngineState::Finished) {
            set_state(EngineState::Running);
        }
        if (!edited.empty())
            publish(std::move(edited), pacing);
    }
}

void EngineWorker::handle_end_of_stream(Pacing pacing) {
    std::vector<pipeline::EditedFrame> edited;
    if (!run_guarded(nullptr, edited))
        return;
    if (!edited.empty())
        publish(std::move(edited), pacing);
    reset_stream(nullptr);  // Editor::flush() already forgot the stream
    set_state(EngineState::Finished);
}

void EngineWorker::push_to_editor(const InputFrame& input,
                                  std::vector<pipeline::EditedFrame>& out) {
    m_pending.push_back(
        Pending{m_editor_next++, input.frame.index, input.arrival, input.frame.pts_s});
    Timer t;
    auto edited = m_editor->push(input.frame);
    m_push_ms += t.elapsed_ms();
    if (!edited.empty()) {
        record_block(Clock::now(), edited.size());
        m_block_frames.clear();
    }
    out.insert(out.end(), std::make_move_iterator(edited.begin()),
               std::make_move_iterator(edited.end()));
}

bool EngineWorker::run_guarded(const InputFrame* frame, std::vector<pipeline::EditedFrame>& out) {
    auto attempt = [&] {
        apply_params();
        if (frame != nullptr) {
            m_block_frames.push_back(*frame);
            push_to_editor(*frame, out);
        } else {
            Timer t;
            auto edited = m_editor->flush();
            m_push_ms += t.elapsed_ms();
            if (!edited.empty())
                record_block(Clock::now(), edited.size());
            out.insert(out.end(), std::make_move_iterator(edited.begin()),
                       std::make_move_iterator(edited.end()));
        }
    };
    Status s = capture_status(attempt);
    if (s.ok())
        return true;
    if (s.code == StatusCode::OutOfMemory) {
        LIPAR_LOG_WARN("engine: ", s.message, "; freeing cached memory and retrying the block");
        // Replay this block's frames into a fresh stream (the failed one is inconsistent).
        std::vector<InputFrame> replay = std::move(m_block_frames);
        if (frame != nullptr && !replay.empty())
            replay.pop_back();  // attempt() re-adds it
        out.clear();
        reset_stream("out of memory");
        if (m_editor) m_editor->drop_graphs();  // their memory pools too
        release_cached_gpu_memory();
        s = capture_status([&] {
            for (const auto& f : replay) {
                m_block_frames.push_back(f);
                push_to_editor(f, out);
            }
            attempt();
        });
        if (s.ok())
            return true;
        if (s.code == StatusCode::OutOfMemory) {
            fail(Status(StatusCode::OutOfMemory,
                        "out of device memory even after freeing caches and restarting the "
                        "stream (" +
                            s.message +
                            "); lower the resolution, the frames per block "
                            "or the KV window, or use a smaller dtype"));
            return false;
        }
    }
    if (s.code == StatusCode::InvalidArgument && frame != nullptr) {
        LIPAR_LOG_WARN("engine: frame ", frame->frame.index, " skipped: ", s.message);
        m_shared.output.report_error(s);
        reset_stream("refused frame");
        return false;
    }
    fail(s);
    return false;
}

void EngineWorker::record_block(Clock::time_point now, size_t outputs) {
    const pipeline::BlockReport& r = m_editor->last_report();
    BlockSample b;
    b.output_frames = static_cast<int64_t>(outputs);
    b.detect_ms = r.detect_ms;
    b.denoise_ms = r.denoise_ms;
    b.decode_ms = r.decode_ms;
    b.baseline_ms = r.baseline_denoise_ms + r.baseline_decode_ms;
    b.compare = r.baseline_denoise_ms > 0;
    b.kept_ratio = r.kept_ratio;
    b.motion_x = r.motion_x;
    b.motion_y = r.motion_y;
    b.prompt = m_editor->effective_prompt();
    b.total_ms = m_push_ms;
    // Everything the editor spent outside the block's own stages (encoding each frame as it came
    // and the frame conversions); BlockReport::encode_ms is not reset between blocks.
    b.encode_ms =
        std::max(0.0, m_push_ms - r.detect_ms - r.denoise_ms - r.decode_ms - b.baseline_ms);
    if (r.output_frames == b.output_frames)
        m_shared.stats.on_block(now, b);
    m_push_ms = 0;
}

void EngineWorker::publish(std::vector<pipeline::EditedFrame> edited, Pacing pacing) {
    const auto now = Clock::now();
    std::vector<EngineOutput> outputs;
    std::vector<double> latencies;
    outputs.reserve(edited.size());
    for (auto& e : edited) {
        while (!m_pending.empty() && m_pending.front().editor_index < e.index) {
            m_pending.pop_front();
        }
        EngineOutput out;
        out.index = e.index;
        double pts_s = 0;
        if (!m_pending.empty() && m_pending.front().editor_index == e.index) {
            const Pending& p = m_pending.front();
            out.index = p.source_index;
            out.latency_ms = std::chrono::duration<double, std::milli>(now - p.arrival).count();
            out.arrival_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 p.arrival.time_since_epoch())
                                 .count();
            pts_s = p.pts_s;
            m_pending.pop_front();
        }
        out.input = std::move(e.input);
        out.output = std::move(e.output);
        out.baseline = std::move(e.baseline);
        for (Frame* f : {&out.input, &out.output, &out.baseline}) {
            if (f->empty())
                continue;
            f->index = out.index;
            f->pts_s = pts_s;
        }
        out.keep_mask = std::move(e.keep_mask);
        out.mask_width = e.mask_width;
        out.mask_height = e.mask_height;
        out.motion_field = std::move(e.motion_field);
        out.mode = e.mode;
        latencies.push_back(out.latency_ms);
        outputs.push_back(std::move(out));
    }
    m_shared.stats.on_outputs(now, latencies);
    std::vector<Recorder::Item> recorded = m_shared.recorder.compose(outputs);
    m_shared.output.publish(std::move(outputs), pacing == Pacing::EveryFrame);
    if (!recorded.empty())
        m_shared.recorder.write(std::move(recorded));
}

}  // namespace lipar::runtime
