#include "runtime/input_channel.h"

#include <algorithm>

namespace lipar::runtime {

size_t InputChannel::capacity_locked() const {
    const auto block = static_cast<size_t>(std::max<int64_t>(m_block_frames, 1));
    return m_pacing == Pacing::EveryFrame ? 2 * block : block;
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
    if (m_pacing == Pacing::Realtime) {
        int64_t dropped = 0;
        while (m_queue.size() >= capacity_locked()) {
            m_queue.pop_front();
            if (m_eos_at > 0)
                --m_eos_at;
            ++dropped;
        }
        if (dropped > 0)
            m_stats.on_drop(dropped);
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

InputEvent InputChannel::wait_event() {
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
        if (m_eos_at > 0)
            --m_eos_at;
        event.kind = InputEvent::Kind::Frame;
        event.input = std::move(m_queue.front());
        m_queue.pop_front();
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
