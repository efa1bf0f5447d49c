#include "pipeline/async_prompt_encoder.h"

#include <cstdio>

#include "core/error.h"
#include "core/log.h"

namespace lipar::pipeline {

namespace {
constexpr size_t kKept = 16;
}

AsyncPromptEncoder::AsyncPromptEncoder(std::unique_ptr<PromptConditioner> conditioner)
    : m_conditioner(std::move(conditioner)), m_description(m_conditioner->describe()) {
    m_thread = std::thread([this] { run(); });
}

AsyncPromptEncoder::~AsyncPromptEncoder() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_work_cv.notify_all();
    m_thread.join();
}

void AsyncPromptEncoder::request_locked(const std::string& prompt) {
    if (m_ready.count(prompt) || m_failed.count(prompt) || (m_busy && m_working == prompt) ||
        (m_has_queued && m_queued == prompt))
        return;
    m_queued = prompt;
    m_has_queued = true;
    m_work_cv.notify_all();
}

torch::Tensor AsyncPromptEncoder::take_ready_locked(const std::string& prompt) {
    auto failed = m_failed.find(prompt);
    if (failed != m_failed.end()) {
        const Status s = failed->second;
        m_failed.erase(failed);
        throw Error(s.code, s.message);
    }
    auto it = m_ready.find(prompt);
    return it == m_ready.end() ? torch::Tensor() : it->second;
}

torch::Tensor AsyncPromptEncoder::poll(const std::string& prompt) {
    std::lock_guard<std::mutex> lock(m_mutex);
    auto e = take_ready_locked(prompt);
    if (!e.defined()) request_locked(prompt);
    return e;
}

torch::Tensor AsyncPromptEncoder::wait(const std::string& prompt) {
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
        auto e = take_ready_locked(prompt);
        if (e.defined()) return e;
        request_locked(prompt);
        m_done_cv.wait(lock);
    }
}

void AsyncPromptEncoder::wait_idle() {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_done_cv.wait(lock, [&] { return !m_busy && !m_has_queued; });
}

std::string AsyncPromptEncoder::status() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_busy) return {};
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_started).count();
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f s", s);
    return "encoding '" + m_working + "' (" + secs + ")";
}

std::string AsyncPromptEncoder::describe() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_description;
}

void AsyncPromptEncoder::run() {
    // Prompt embeddings need no autograd; the tensors are handed to the engine thread.
    c10::InferenceMode inference;
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
        m_work_cv.wait(lock, [&] { return m_stop || m_has_queued; });
        if (m_stop) return;
        m_working = m_queued;
        m_has_queued = false;
        m_busy = true;
        m_started = std::chrono::steady_clock::now();
        lock.unlock();
        torch::Tensor e;
        const Status s = capture_status([&] { e = m_conditioner->embed(m_working); });
        const std::string description = m_conditioner->describe();
        lock.lock();
        if (s.ok()) {
            m_ready[m_working] = e;
            m_order.push_back(m_working);
            while (m_order.size() > kKept) {
                m_ready.erase(m_order.front());
                m_order.pop_front();
            }
        } else {
            LIPAR_LOG_WARN("prompt '", m_working, "': ", s.message);
            m_failed[m_working] = s;
        }
        m_description = description;
        m_busy = false;
        m_working.clear();
        m_done_cv.notify_all();
    }
}

}  // namespace lipar::pipeline
