#pragma once
// One thread that runs posted jobs in order (the token workers' replicas of the editor each live
// on one). Destruction runs the jobs still queued, then joins.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace lipar::parallel {

class WorkerThread {
public:
    WorkerThread() : m_thread([this] { loop(); }) {}
    ~WorkerThread() {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_one();
        m_thread.join();
    }
    WorkerThread(const WorkerThread&) = delete;
    WorkerThread& operator=(const WorkerThread&) = delete;

    // The job's exception comes back through the future.
    std::future<void> post(std::function<void()> job) {
        std::packaged_task<void()> task(std::move(job));
        auto done = task.get_future();
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_jobs.push_back(std::move(task));
        }
        m_wake.notify_one();
        return done;
    }

private:
    void loop() {
        for (;;) {
            std::packaged_task<void()> job;
            {
                std::unique_lock<std::mutex> lock(m_mutex);
                m_wake.wait(lock, [&] { return m_stop || !m_jobs.empty(); });
                if (m_jobs.empty()) return;  // stopping, nothing left
                job = std::move(m_jobs.front());
                m_jobs.pop_front();
            }
            job();
        }
    }

    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::packaged_task<void()>> m_jobs;
    bool m_stop = false;
    std::thread m_thread;  // last: starts once the rest exists
};

}  // namespace lipar::parallel
