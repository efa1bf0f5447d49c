#pragma once
// Runs a PromptConditioner on a thread of its own, so that a new prompt (loading and running a
// text encoder: 8.8 s for UMT5-XXL on an H200) never stops the stream: the editor keeps editing
// with the old prompt and swaps at the first block boundary after the new embedding is ready.
//
// Requests are "latest wins": asking for a prompt while another is being encoded queues it in
// place of any earlier queued one. Finished embeddings (and failures) are kept for a few prompts.
//
// Threads: one owner thread (the engine thread) calls poll()/wait(); status() and describe() may
// be called from any thread. The worker thread alone calls the conditioner. All state below is
// guarded by m_mutex.

#include <torch/torch.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "lipar/status.h"
#include "pipeline/prompt_conditioner.h"

namespace lipar::pipeline {

class AsyncPromptEncoder {
  public:
    explicit AsyncPromptEncoder(std::unique_ptr<PromptConditioner> conditioner);
    ~AsyncPromptEncoder();  // finishes the prompt in progress, then joins the worker
    AsyncPromptEncoder(const AsyncPromptEncoder&) = delete;
    AsyncPromptEncoder& operator=(const AsyncPromptEncoder&) = delete;

    // The embedding when ready (undefined otherwise, and the prompt is then requested). A failed
    // encoding is rethrown here once as lipar::Error.
    torch::Tensor poll(const std::string& prompt);
    // Blocks until the prompt's embedding is ready (the first prompt of a stream).
    torch::Tensor wait(const std::string& prompt);
    // Blocks until no prompt is being encoded or waits to be.
    void wait_idle();
    // "" when idle, else what runs: "encoding 'watercolor' (3.1 s)".
    std::string status() const;
    std::string describe() const;

  private:
    void run();
    void request_locked(const std::string& prompt);
    torch::Tensor take_ready_locked(const std::string& prompt);

    std::unique_ptr<PromptConditioner> m_conditioner;
    mutable std::mutex m_mutex;
    std::condition_variable m_work_cv;  // the worker waits for a request or stop
    std::condition_variable m_done_cv;  // wait() waits for a result
    bool m_has_queued = false;
    std::string m_queued;                 // the next prompt to encode
    bool m_busy = false;
    std::string m_working;                // the prompt being encoded
    std::chrono::steady_clock::time_point m_started;
    std::map<std::string, torch::Tensor> m_ready;
    std::map<std::string, Status> m_failed;
    std::deque<std::string> m_order;      // of m_ready, oldest first (kept small)
    std::string m_description;            // conditioner->describe() after the last encoding
    bool m_stop = false;
    std::thread m_thread;
};

}  // namespace lipar::pipeline
