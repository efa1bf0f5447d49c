#include "runtime/source_thread.h"

#include "core/error.h"
#include "core/log.h"
#include "runtime/thread_name.h"

namespace lipar::runtime {

SourceThread::SourceThread(std::unique_ptr<media::VideoSource> source,
                           Pacing pacing,
                           InputChannel& input,
                           uint64_t generation,
                           std::function<void(Status)> on_error)
    : m_source(std::move(source)),
      m_pacing(pacing),
      m_input(input),
      m_generation(generation),
      m_on_error(std::move(on_error)) {
    m_thread = std::thread([this] { run(); });
}

SourceThread::~SourceThread() {
    stop();
}

void SourceThread::stop() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

bool SourceThread::wait_until(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_cv.wait_until(lock, deadline, [&] { return m_stop; });
    return !m_stop;
}

void SourceThread::run() {
    set_thread_name("lipar-source");
    const bool paced = m_pacing == Pacing::Realtime && !m_source->is_live();
    const double fps = m_source->info().fps > 0 ? m_source->info().fps : 30.0;
    const auto period =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / fps));
    auto start = Clock::now();
    int64_t n = 0;
    try {
        for (;;) {
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                if (m_stop)
                    return;
            }
            Frame frame;
            if (!m_source->read(frame)) {
                m_input.end_of_stream(m_generation);
                return;
            }
            if (paced) {
                auto due = start + n * period;
                const auto now = Clock::now();
                if (now > due + period) {  // decoding fell behind: play on from now, no burst
                    start = now - n * period;
                    due = now;
                }
                if (!wait_until(due))
                    return;
            }
            ++n;
            if (!m_input.push(m_generation, std::move(frame)))
                return;
        }
    } catch (...) {
        Status s = status_from_current_exception();
        LIPAR_LOG_ERROR("source: ", s.to_string());
        if (m_on_error)
            m_on_error(s);
        m_input.end_of_stream(m_generation);
    }
}

}  // namespace lipar::runtime
