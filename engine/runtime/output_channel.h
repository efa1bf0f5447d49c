#pragma once
// The hand-off from the engine thread to the consumer (the GUI thread, the CLI).
//
// Results wait in one ordered queue of at most `capacity` entries. take_next() pops the oldest,
// take_latest() returns the newest and skips the older ones. When the queue is full, results of
// a Realtime source push out the oldest undelivered result; results of an EveryFrame source make
// the engine thread wait for room (export never loses a frame).
//
// Wakeup: the consumer's callback is called at most once between two take_*() calls (any take
// re-arms it), when a result, an error or a state change arrives: never one call per frame. It is
// called without any lock held, from whichever engine-owned thread published.
//
// Threads: publish() is the engine thread's; report_error()/notify() any engine-owned thread;
// take_*() and set_wakeup() the controlling thread; stop()/restart()/clear() the controlling
// thread. m_mutex guards every field; m_room_cv wakes an engine thread waiting for room.

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "lipar/engine.h"

namespace lipar::runtime {

class OutputChannel {
  public:
    explicit OutputChannel(size_t capacity = 24) : m_capacity(capacity) {}

    void set_wakeup(std::function<void()> wakeup);
    void set_capacity(size_t capacity);

    // Engine thread. Appends results in order; wait_for_room: block while full (false when the
    // channel was stopped meanwhile; the remaining results are discarded).
    bool publish(std::vector<EngineOutput> outputs, bool wait_for_room);
    void report_error(Status status);
    void notify();  // a state change the consumer should look at

    bool take_latest(EngineOutput& out);
    bool take_next(EngineOutput& out);
    std::optional<Status> take_error();

    void stop();     // releases a publisher waiting for room; later publishes do not wait
    void restart();  // clears the stop flag
    void clear();    // forgets undelivered results and errors; the drop count restarts
    // Results the consumer never got: pushed out of a full queue, or skipped by take_latest().
    int64_t dropped() const;

  private:
    using Wakeup = std::shared_ptr<const std::function<void()>>;
    Wakeup disarm_locked();  // the callback to call if armed (and disarms), else null

    mutable std::mutex m_mutex;
    std::condition_variable m_room_cv;
    // --- guarded by m_mutex ---
    std::deque<EngineOutput> m_results;
    int64_t m_dropped = 0;
    std::deque<Status> m_errors;  // at most kMaxErrors; older ones are dropped
    size_t m_capacity;
    Wakeup m_wakeup;
    bool m_armed = true;
    bool m_stopped = false;
};

}  // namespace lipar::runtime
