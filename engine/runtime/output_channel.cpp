#include "runtime/output_channel.h"

#include <algorithm>

namespace lipar::runtime {

namespace {
constexpr size_t kMaxErrors = 32;

void call(const std::shared_ptr<const std::function<void()>>& wakeup) {
    if (wakeup && *wakeup)
        (*wakeup)();
}
}  // namespace

void OutputChannel::set_wakeup(std::function<void()> wakeup) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_wakeup = std::make_shared<const std::function<void()>>(std::move(wakeup));
}

void OutputChannel::set_capacity(size_t capacity) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_capacity = std::max<size_t>(capacity, 1);
    m_room_cv.notify_all();
}

OutputChannel::Wakeup OutputChannel::disarm_locked() {
    if (!m_armed)
        return nullptr;
    m_armed = false;
    return m_wakeup;
}

bool OutputChannel::publish(std::vector<EngineOutput> outputs, bool wait_for_room) {
    std::unique_lock<std::mutex> lock(m_mutex);
    Wakeup pending;
    for (auto& out : outputs) {
        while (wait_for_room && !m_stopped && m_results.size() >= m_capacity) {
            // The consumer must hear about what is already here before we wait for it.
            if (pending) {
                lock.unlock();
                call(pending);
                pending.reset();
                lock.lock();
                continue;
            }
            m_room_cv.wait(lock);
        }
        if (wait_for_room && m_stopped)
            break;
        while (m_results.size() >= m_capacity) {
            m_results.pop_front();
            ++m_dropped;
        }
        m_results.push_back(std::move(out));
        if (auto w = disarm_locked())
            pending = std::move(w);
    }
    const bool delivered = !(wait_for_room && m_stopped);
    lock.unlock();
    call(pending);
    return delivered;
}

void OutputChannel::report_error(Status status) {
    Wakeup pending;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_errors.size() >= kMaxErrors)
            m_errors.pop_front();
        m_errors.push_back(std::move(status));
        pending = disarm_locked();
    }
    call(pending);
}

void OutputChannel::notify() {
    Wakeup pending;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        pending = disarm_locked();
    }
    call(pending);
}

bool OutputChannel::take_latest(EngineOutput& out) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_armed = true;
    if (m_results.empty())
        return false;
    out = std::move(m_results.back());
    m_dropped += static_cast<int64_t>(m_results.size()) - 1;
    m_results.clear();
    m_room_cv.notify_all();
    return true;
}

bool OutputChannel::take_next(EngineOutput& out) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_armed = true;
    if (m_results.empty())
        return false;
    out = std::move(m_results.front());
    m_results.pop_front();
    m_room_cv.notify_all();
    return true;
}

std::optional<Status> OutputChannel::take_error() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_armed = true;
    if (m_errors.empty())
        return std::nullopt;
    Status s = std::move(m_errors.front());
    m_errors.pop_front();
    return s;
}

void OutputChannel::stop() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stopped = true;
    m_room_cv.notify_all();
}

void OutputChannel::restart() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stopped = false;
}

void OutputChannel::clear() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_results.clear();
    m_errors.clear();
    m_dropped = 0;
    m_armed = true;
    m_room_cv.notify_all();
}

int64_t OutputChannel::dropped() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_dropped;
}

}  // namespace lipar::runtime
