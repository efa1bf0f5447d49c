#pragma once
// Plays engine results out at the source's pace. The engine publishes a block of results at once
// (e.g. 12 frames); shown as they come, the preview would jump a block at a time. The pacer queues
// them (taken with Engine::take_next) and says how long to wait before showing the next one: the
// pts difference of the two frames, halved while more than one block is waiting (so a slow
// display catches up instead of adding latency).
//
// GUI thread only. Results live in a fixed ring of EngineOutput slots: filling one moves the
// engine's buffers in and showing one swaps them out, so nothing is allocated per frame here.

#include <cstdint>
#include <vector>

#include "lipar/engine.h"

class FramePacer {
  public:
    static constexpr int kDefaultCapacity = 48;
    static constexpr int kFallbackIntervalMs = 33;  // when pts say nothing useful

    explicit FramePacer(int capacity = kDefaultCapacity);

    // The slot the next result goes into (pass it to take_next, then commit() if it was filled).
    // commit() on a full ring drops the oldest waiting result (counted); an unfilled slot costs
    // nothing.
    lipar::EngineOutput& slotForNext();
    void commit();
    // How many results the last drain brought (one block, usually).
    void noteBurst(int count);

    bool isEmpty() const { return m_count == 0; }
    int size() const { return m_count; }
    int capacity() const;
    int64_t dropped() const { return m_dropped; }
    void resetDropped() { m_dropped = 0; }

    // Swaps the oldest waiting result into out; false when none waits.
    bool takeOldest(lipar::EngineOutput& out);
    // Milliseconds to wait after showing `shown` before the next waiting result; -1 if none.
    int delayAfter(const lipar::EngineOutput& shown) const;
    void clear();

  private:
    int ringSize() const { return static_cast<int>(m_ring.size()); }
    std::vector<lipar::EngineOutput> m_ring;
    int m_head = 0;
    int m_count = 0;
    int m_lastBurst = 0;
    int64_t m_dropped = 0;
};
