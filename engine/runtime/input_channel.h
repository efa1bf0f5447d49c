#pragma once
// The hand-off from the source (a decoder/capture thread, or push_frame callers) to the engine
// thread.
//
//   Realtime:   one continuous stream however slow the engine: the engine takes what it still
//               needs for its block; when more frames have arrived than that, it takes an even
//               subsample of all of them (the newest included) and the rest are dropped and
//               counted. Taken frames count as consecutive, so the KV cache and LIPAR's pruning
//               reference carry on (a time-lapse of the source rather than a restart). At most
//               four blocks wait; beyond that every other waiting frame is dropped (the span is
//               kept, the spacing grows). Producers never block.
//   EveryFrame: a bounded blocking queue (two blocks); producers wait for room; nothing is dropped.
//
// Every source gets a generation number from open(); a producer of an older generation (a source
// that was replaced or closed) is refused and released from any wait. open()/close() also ask the
// engine to reset the stream before the next frame.
//
// Threads: producers call push()/end_of_stream(); the controlling thread calls open(), close(),
// request_reset(), stop(), restart(); the engine thread calls wait_event() and set_block_frames().
// All state is guarded by m_mutex; m_data_cv wakes the engine, m_room_cv wakes waiting producers.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "lipar/engine.h"
#include "runtime/stats_window.h"

namespace lipar::runtime {

struct InputFrame {
    Frame frame;
    Clock::time_point arrival;
    int64_t input_index() const { return frame.index; }
};

struct InputEvent {
    enum class Kind { Stop, Reset, Frame, EndOfStream };
    Kind kind = Kind::Stop;
    std::vector<InputFrame> frames;   // Frame: one or more, in order (consecutive in the stream)
    Pacing pacing = Pacing::Invalid;  // Frame, EndOfStream: the pacing of its source
};

class InputChannel {
  public:
    explicit InputChannel(StatsCollector& stats) : m_stats(stats) {}

    // Starts a new source (discarding frames of the previous one, releasing its producers) and
    // returns its generation. external: push_external() feeds it. max_frames < 0: unlimited.
    uint64_t open(Pacing pacing, bool external, int64_t max_frames);
    // No source: pending frames are discarded, producers released, the stream reset.
    void close();
    void request_reset();

    // Producers. false when the channel is stopped, the generation is no longer current, or
    // max_frames was reached (the end of stream is then signalled automatically).
    bool push(uint64_t generation, Frame frame);
    void end_of_stream(uint64_t generation);
    // push_frame()/end_of_stream() of the public API: the current source, if it is external.
    bool push_external(Frame frame);
    void end_of_stream_external();

    // Engine thread: blocks until there is something to do. Priority: stop, reset, then the
    // frames and the end of stream in the order they came (frames pushed after an end of stream
    // start the next stream). frames_needed: source frames the engine still needs to complete
    // its block (Realtime: at most that many are returned, subsampled when more wait; EveryFrame:
    // one frame per event).
    InputEvent wait_event(int64_t frames_needed = 1);
    // Engine thread, once the editor is loaded: source frames per block (sets the capacities).
    void set_block_frames(int64_t frames);

    // Wakes everyone: wait_event() returns Stop, producers are refused, until restart().
    void stop();
    void restart();

  private:
    size_t capacity_locked() const;

    StatsCollector& m_stats;
    std::mutex m_mutex;
    std::condition_variable m_data_cv;  // engine thread waits: frames, end of stream, reset, stop
    std::condition_variable m_room_cv;  // EveryFrame producers wait: room, new generation, stop
    // --- guarded by m_mutex ---
    std::deque<InputFrame> m_queue;
    Pacing m_pacing = Pacing::Invalid;  // Invalid: no source
    bool m_external = false;
    uint64_t m_generation = 0;
    int64_t m_max_frames = -1;
    int64_t m_accepted = 0;       // frames accepted from the current source
    int64_t m_next_index = 0;     // assigned to frames that arrive without an index
    int64_t m_block_frames = 12;  // source frames per block (TAEHV x 3 until loaded)
    int64_t m_eos_at = -1;        // end of stream after this many queued frames (-1: none pending)
    bool m_reset = false;
    bool m_stopped = false;
};

}  // namespace lipar::runtime
