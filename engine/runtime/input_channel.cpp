#include "runtime/input_channel.h"

#include <algorithm>

namespace lipar::runtime {

size_t InputChannel::capacity_locked() const {
    const auto block = static_cast<size_t>(std::max<int64_t>(m_block_frames, 1));
    return m_pacing == Pacing::EveryFrame ? 2 * block : 4 * block;
}

uint64_t InputChannel::open(Pacing pacing, bool external, int64_t max_frames) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_queue.clear();
    m_pacing = pacing;
    m_external = external;
    m_max_frames = max_frames;
    m_accepted = 0;
    m_next_index = 0;
    m_eos_at = -1;
    m_reset = true;
    ++m_generation;
    m_room_cv.notify_all();
    m_data_cv.notify_all();
    return m_generation;
}

void InputChannel::close() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_queue.clear();
    m_pacing = Pacing::Invalid;
    m_external = false;
    m_eos_at = -1;
    m_reset = true;
    ++m_generation;
    m_room_cv.notify_all();
    m_data_cv.notify_all();
}

void InputChannel::request_reset() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_reset = true;
    m_data_cv.notify_all();
}

bool InputChannel::push(uint64_t generation, Frame frame) {
    std::unique_lock<std::mutex> lock(m_mutex);
    auto refused = [&] {
        return m_stopped || generation != m_generation || m_pacing == Pacing::Invalid ||
               (m_max_frames >= 0 && m_accepted >= m_max_frames);
    };
    if (m_pacing == Pacing::EveryFrame) {
        m_room_cv.wait(lock, [&] { return refused() || m_queue.size() < capacity_locked(); });
    }
    if (refused())
        return false;
    if (frame.index < 0)
        frame.index = m_next_index;
    m_next_index = frame.index + 1;
    const auto now = Clock::now();
    if (m_pacing == Pacing::Realtime && m_queue.size() >= capacity_locked() && m_eos_at < 0) {
        // Thin the waiting frames evenly (every other one, the newest kept): the time span they
        // cover stays, so the next block still shows the whole interval.
        std::deque<InputFrame> kept;
        const size_t n = m_queue.size();
        for (size_t i = 0; i < n; ++i) {
            if ((n - 1 - i) % 2 == 0)
                kept.push_back(std::move(m_queue[i]));
        }
        m_stats.on_drop(static_cast<int64_t>(n - kept.size()));
        m_queue = std::move(kept);
    }
    m_queue.push_back(InputFrame{std::move(frame), now});
    m_stats.on_input(now);
    ++m_accepted;
    if (m_max_frames >= 0 && m_accepted >= m_max_frames)
        m_eos_at = static_cast<int64_t>(m_queue.size());
    m_data_cv.notify_all();
    return true;
}

void InputChannel::end_of_stream(uint64_t generation) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_stopped || generation != m_generation || m_pacing == Pacing::Invalid)
        return;
    m_eos_at = static_cast<int64_t>(m_queue.size());
    m_data_cv.notify_all();
}

bool InputChannel::push_external(Frame frame) {
    uint64_t generation = 0;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_external)
            return false;
        generation = m_generation;
    }
    return push(generation, std::move(frame));
}

void InputChannel::end_of_stream_external() {
    uint64_t generation = 0;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_external)
            return;
        generation = m_generation;
    }
    end_of_stream(generation);
}

InputEvent InputChannel::wait_event(int64_t frames_needed) {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_data_cv.wait(lock, [&] { return m_stopped || m_reset || !m_queue.empty() || m_eos_at >= 0; });
    InputEvent event;
    event.pacing = m_pacing;
    if (m_stopped) {
        event.kind = InputEvent::Kind::Stop;
    } else if (m_reset) {
        m_reset = false;
        event.kind = InputEvent::Kind::Reset;
    } else if (m_eos_at == 0) {
        m_eos_at = -1;
        event.kind = InputEvent::Kind::EndOfStream;
    } else {
        event.kind = InputEvent::Kind::Frame;
        const size_t need = static_cast<size_t>(std::max<int64_t>(frames_needed, 1));
        // Frames before a pending end of stream are taken in order (the file's last frames).
        const size_t avail = m_eos_at > 0 ? static_cast<size_t>(m_eos_at) : m_queue.size();
        if (m_pacing == Pacing::Realtime && m_eos_at < 0 && avail > need) {
            // More arrived than the block needs: an even subsample of everything waiting,
            // first and newest included; the others are dropped.
            for (size_t k = 0; k < need; ++k) {
                const size_t i = need == 1 ? avail - 1 : (k * (avail - 1) + (need - 1) / 2) / (need - 1);
                event.frames.push_back(std::move(m_queue[i]));
            }
            m_stats.on_drop(static_cast<int64_t>(avail - need));
            m_queue.clear();
        } else {
            const size_t take = m_pacing == Pacing::Realtime ? std::min(need, avail) : 1;
            for (size_t k = 0; k < take; ++k) {
                event.frames.push_back(std::move(m_queue.front()));
                m_queue.pop_front();
            }
            if (m_eos_at > 0)
                m_eos_at -= static_cast<int64_t>(take);
        }
        m_room_cv.notify_all();
    }
    return event;
}

void InputChannel::set_block_frames(int64_t frames) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_block_frames = std::max<int64_t>(frames, 1);
    m_room_cv.notify_all();
}

void InputChannel::stop() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stopped = true;
    m_data_cv.notify_all();
    m_room_cv.notify_all();
}

void InputChannel::restart() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stopped = false;
}

}  // namespace lipar::runtime
