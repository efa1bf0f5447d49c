#pragma once
// The public face of the engine: the GUI and the CLI use only this (no Torch in these headers).
//
// Threads: an Engine owns a source thread (decoding a file or capturing a camera) and the engine
// thread (the model, its caches, the CUDA stream). Every method below may be called from any one
// controlling thread (the GUI thread); none blocks on model work except push_frame in
// Pacing::EveryFrame mode (bounded queue, by design) and stop(). Errors never throw: methods return
// Status and asynchronous errors (a failed load, an unreadable frame, CUDA out-of-memory) are
// reported through take_error() and the wakeup callback, on the same path as frames.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lipar/frame.h"
#include "lipar/params.h"
#include "lipar/stats.h"
#include "lipar/status.h"

namespace lipar {

enum class Pacing {
    Invalid = 0,
    Realtime,    // live semantics: latest frame wins, drops are counted (webcam, preview)
    EveryFrame,  // export semantics: bounded blocking queue, nothing dropped
};

struct SourceSpec {
    enum class Kind { Invalid = 0, File, Camera, External };
    Kind kind = Kind::Invalid;
    std::string path;          // File
    int camera_index = 0;      // Camera
    int camera_width = 640;
    int camera_height = 480;
    bool loop = false;         // File: start over at the end
    Pacing pacing = Pacing::Realtime;
    int64_t max_frames = -1;   // stop after this many source frames (-1: all)
    double fps = 0;            // External: nominal frame rate for recordings (0: 30)

    static SourceSpec file(const std::string& path, bool loop = false,
                           Pacing pacing = Pacing::Realtime);
    static SourceSpec camera(int index, int width = 640, int height = 480);
    // Frames come from push_frame() (tests, embedding applications).
    static SourceSpec external(Pacing pacing);
};

struct CameraDescription {
    int index = 0;
    std::string name;
    std::string path;
    std::vector<std::pair<int, int>> sizes;
};
std::vector<CameraDescription> list_cameras();

// One engine result.
struct EngineOutput {
    int64_t index = -1;       // source frame index
    Frame input;              // the source frame at model resolution
    Frame output;             // the edited frame (Lipar side in compare mode)
    Frame baseline;           // compare mode: the Off side; empty otherwise
    // Keep mask of the latent frame this output came from, one byte per token (1 = recomputed),
    // row-major mask_width x mask_height; empty for Off.
    std::vector<uint8_t> keep_mask;
    int mask_width = 0;
    int mask_height = 0;
    // Per-region motion (--motion local) of that latent frame: per token of the mask grid, the
    // content's step since the previous latent frame in tokens, as (dx, dy) pairs; empty unless
    // local motion moved something.
    std::vector<int8_t> motion_field;
    double latency_ms = 0;    // arrival of the source frame -> output ready
    // Arrival of the source frame on std::chrono::steady_clock (nanoseconds since its epoch), so a
    // consumer can measure the latency to its own end (presented, written): latency_to_now_ms().
    EditMode mode = EditMode::Invalid;
    int64_t arrival_ns = 0;
};

// Milliseconds from the result's source frame arrival to now (0 when unknown).
inline double latency_to_now_ms(const EngineOutput& out) {
    if (out.arrival_ns == 0) return 0.0;
    const auto now = std::chrono::steady_clock::now().time_since_epoch();
    return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count() -
                               out.arrival_ns) / 1e6;
}

enum class EngineState { Stopped = 0, Loading, Ready, Running, Finished, Failed };
const char* engine_state_name(EngineState state);

enum class RecordContent { Invalid = 0, Output, SideBySide };

class Engine {
public:
    Engine();
    ~Engine();  // stops everything; finishes an open recording (the file stays playable)
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Starts the engine thread, which loads the pack (state Loading -> Ready, or Failed with
    // take_error()). Returns an error only for an invalid config or a second start.
    Status start(const EngineConfig& config, const EditParams& params = {});
    // Stops the source and the engine thread (after the block in progress) and finishes a
    // recording; safe at any moment and more than once. Stats stay readable until the next run.
    void stop();

    // Replaces the current source (the stream's caches reset at the next block). May be called
    // before start(); opening a file or camera happens here, so a missing one is reported now.
    Status open_source(const SourceSpec& source);
    void close_source();
    // External sources: hands one frame in (index -1: numbered after the previous one).
    // Realtime: never waits; when a block's worth of frames is already waiting, the oldest is
    // dropped (counted); EveryFrame: waits for room. Returns false when the engine is stopping or
    // failed, the source is not External or was replaced, or max_frames was reached. May be
    // called from a producer thread while the controlling thread calls the other methods.
    bool push_frame(Frame frame);
    // External sources: no more frames; the engine flushes what it holds, then state Finished.
    void end_of_stream();

    // Applied at the next block boundary; invalid parameters are refused (InvalidArgument).
    Status set_params(const EditParams& params);
    EditParams params() const;
    // Drops the stream's caches at the next block (discontinuity the engine cannot see itself).
    void reset_stream();

    // The newest result since the last call (older undelivered ones are skipped); false if none.
    bool take_latest(EngineOutput& out);
    // The oldest undelivered result; false if none. EveryFrame sources: every result in order
    // (export; the engine waits while two blocks of results are undelivered). Realtime sources:
    // at most two blocks wait, older ones are skipped (a player can pace them at the source fps).
    bool take_next(EngineOutput& out);
    // Called from an engine-owned thread (engine, source or recorder thread) when a result, an
    // error or a state change (Ready, Running, Finished, Failed) arrives after the consumer's
    // last take_*() call: at most one call until the consumer takes again, never one per frame.
    // On a wakeup, drain with take_latest() or take_next() until false, take_error(), and read
    // state(). The callback must not block, and may call only take_*(), state() and stats()
    // (post to the GUI thread); replace it only while the engine is stopped.
    void set_wakeup(std::function<void()> wakeup);

    EngineState state() const;
    EngineStats stats() const;
    std::optional<Status> take_error();

    // Records results to a video file (.mp4 fragmented / .mkv / .y4m) on a writer thread with a
    // bounded queue (frames are never dropped from a recording).
    Status start_recording(const std::string& path, RecordContent content);
    Status stop_recording();
    bool recording() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace lipar
