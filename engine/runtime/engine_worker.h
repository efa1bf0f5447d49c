#pragma once
// The engine thread: owns the streaming editor (the model, every cache, the device's work) and
// moves frames from the input channel through the editor to the output channel and the recorder.
//
//   load:  EngineConfig -> ModelPack::load -> pipeline::Editor (state Loading -> Ready, or Failed
//          with a Status naming the pack path)
//   loop:  wait_event(): Stop | Reset (source change, reset_stream()) | Frame | EndOfStream
//          Frame: the frames the block still needs (a live source subsamples what arrived, see
//          input_channel.h); they are consecutive in the stream whatever their source indices,
//          so the KV cache and the pruning reference carry on through drops. The newest
//          EditParams are handed to the editor (it applies them at its next block);
//          Editor::push; results -> recorder + output.
//          EndOfStream: Editor::flush, results out, state Finished.
//   errors: every exception is caught. CUDA out-of-memory: release cached memory, reset the
//          stream, run the current block's frames again once; a second failure reports
//          OutOfMemory and the state becomes Failed. A frame the editor refuses (InvalidArgument)
//          is reported and skipped (the stream restarts); any other error is reported and Failed.
//
// Threads: constructed, started and joined by the controlling thread; everything else runs on
// the engine thread, which alone touches m_editor and the stream bookkeeping below (no lock).
// Shared objects (EngineShared) carry their own locks.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lipar/engine.h"
#include "runtime/input_channel.h"
#include "runtime/output_channel.h"
#include "runtime/recorder.h"
#include "runtime/stats_window.h"

namespace lipar::pipeline {
class Editor;
struct EditedFrame;
}  // namespace lipar::pipeline

namespace lipar::runtime {

// The newest parameters from the controlling thread; m_mutex guards both fields.
class ParamsBox {
  public:
    void set(const EditParams& params);
    EditParams get() const;
    // Copies the parameters into `out` if they changed since `seen_version`; updates it.
    bool get_if_newer(uint64_t& seen_version, EditParams& out) const;

  private:
    mutable std::mutex m_mutex;
    EditParams m_params;
    uint64_t m_version = 1;
};

// What the controlling thread and the engine thread share; each member locks itself.
struct EngineShared {
    EngineShared();
    StatsCollector stats;
    InputChannel input;
    OutputChannel output;
    Recorder recorder;
    ParamsBox params;
    std::atomic<EngineState> state{EngineState::Stopped};
    std::atomic<int> model_width{0}, model_height{0};  // set once the editor is loaded
};

struct WorkerConfig {
    EngineConfig engine;
    bool cuda = false;  // device/dtype, resolved by the engine thread when it loads
    int device_index = 0;
    int dtype = 0;        // torch::Dtype as int (keeps Torch out of this header)
    int cpu_threads = 0;  // intra-op threads of the thread that called start() (0: leave)
};

class EngineWorker {
  public:
    EngineWorker(const WorkerConfig& config, EngineShared& shared);
    ~EngineWorker();  // join(); the input channel must have been stopped
    EngineWorker(const EngineWorker&) = delete;
    EngineWorker& operator=(const EngineWorker&) = delete;

    void join();

  private:
    struct Pending {  // a frame handed to the editor whose result has not come out yet
        int64_t editor_index = 0;
        int64_t source_index = 0;
        Clock::time_point arrival;
        double pts_s = 0;
    };

    void run();
    bool load();
    void loop();
    void set_state(EngineState state);
    void fail(const Status& status);
    void reset_stream(const char* why);
    void handle_frames(std::vector<InputFrame> frames, Pacing pacing);
    // Source frames the editor still needs to complete its current block.
    int64_t frames_needed() const;
    void handle_end_of_stream(Pacing pacing);
    void apply_params();
    // Runs the editor on one frame (or flushes it when `frame` is null) with the OOM policy.
    bool run_guarded(const InputFrame* frame, std::vector<pipeline::EditedFrame>& out);
    void push_to_editor(const InputFrame& input, std::vector<pipeline::EditedFrame>& out);
    void publish(std::vector<pipeline::EditedFrame> edited, Pacing pacing);
    void record_block(Clock::time_point now, size_t outputs);

    WorkerConfig m_config;
    EngineShared& m_shared;
    // --- engine thread only ---
    std::unique_ptr<pipeline::Editor> m_editor;
    std::deque<Pending> m_pending;
    std::vector<InputFrame> m_block_frames;  // pushed since the last block: replayed after OOM
    int64_t m_editor_next = 0;               // editor index of the next pushed frame
    uint64_t m_params_version = 0;
    double m_push_ms = 0;  // editor time since the last finished block
    std::thread m_thread;
};

}  // namespace lipar::runtime
