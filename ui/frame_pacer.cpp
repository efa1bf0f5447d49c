#include "frame_pacer.h"

#include <algorithm>
#include <cmath>
#include <utility>

// One slot more than the capacity: the slot handed out for the next result is always free, so a
// drain that brings nothing new never costs a waiting result.
FramePacer::FramePacer(int capacity) : m_ring(static_cast<size_t>(std::max(2, capacity) + 1)) {}

int FramePacer::capacity() const {
    return static_cast<int>(m_ring.size()) - 1;
}

lipar::EngineOutput& FramePacer::slotForNext() {
    return m_ring[static_cast<size_t>((m_head + m_count) % ringSize())];
}

void FramePacer::commit() {
    if (m_count == capacity()) {  // the new result pushes out the oldest waiting one
        m_head = (m_head + 1) % ringSize();
        --m_count;
        ++m_dropped;
    }
    ++m_count;
}

void FramePacer::noteBurst(int count) {
    if (count > 0) {
        m_lastBurst = count;
    }
}

bool FramePacer::takeOldest(lipar::EngineOutput& out) {
    if (m_count == 0) {
        return false;
    }
    std::swap(out, m_ring[static_cast<size_t>(m_head)]);
    m_head = (m_head + 1) % ringSize();
    --m_count;
    return true;
}

int FramePacer::delayAfter(const lipar::EngineOutput& shown) const {
    if (m_count == 0) {
        return -1;
    }
    const lipar::EngineOutput& next = m_ring[static_cast<size_t>(m_head)];
    const double step_s = next.output.pts_s - shown.output.pts_s;
    double delayMs = step_s > 0.0 && step_s <= 0.5 ? step_s * 1000.0 : kFallbackIntervalMs;
    if (m_count > std::max(1, m_lastBurst)) {
        delayMs *= 0.5;  // more than a block behind: catch up
    }
    return static_cast<int>(std::lround(delayMs));
}

void FramePacer::clear() {
    m_head = 0;
    m_count = 0;
}
