#include "parallel/stage_pipeline.h"

#include "core/error.h"
#include "core/log.h"
#include "lipar/gpu_env.h"

#if LIPAR_HAVE_C10D
#include <ATen/ThreadLocalState.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#endif

namespace lipar::parallel {

#if !LIPAR_HAVE_C10D

bool stage_pipelines_available() { return false; }

std::shared_ptr<StagePipeline> make_stage_pipeline(const std::vector<LayerRange>&, const torch::Device&,
                                                   std::chrono::milliseconds) {
    fail(StatusCode::Unsupported,
         "pipeline stages need LibTorch's c10d with Gloo; this build has none (its LibTorch's c10d "
         "headers or gloo's headers were missing when it was configured; on Debian: libgloo-dev)");
}

#else

bool stage_pipelines_available() { return true; }

namespace {

void check_ranges(const std::vector<LayerRange>& ranges) {
    LIPAR_CHECK(!ranges.empty(), StatusCode::InvalidArgument, "a pipeline needs at least one stage");
    for (size_t i = 0; i < ranges.size(); ++i)
        LIPAR_CHECK(ranges[i].size() > 0 && (i == 0 ? ranges[i].begin == 0 : ranges[i].begin == ranges[i - 1].end),
                    StatusCode::InvalidArgument, "pipeline stages must be contiguous, non-empty block ranges from 0, got ",
                    describe_stages(ranges));
}

// What a failed stage reports to the caller.
struct StageFailure {
    int64_t stage = 0;
    StatusCode code = StatusCode::Internal;
    std::string message;
};

class C10dStagePipeline final : public StagePipeline {
public:
    C10dStagePipeline(std::vector<LayerRange> ranges, std::chrono::milliseconds timeout)
        : m_ranges(std::move(ranges)), m_timeout(timeout) {
        const int size = static_cast<int>(m_ranges.size());
        m_busy.ms.assign(m_ranges.size(), 0.0);
        m_store = c10::make_intrusive<c10d::HashStore>();
        for (int rank = 1; rank < size; ++rank) m_workers.emplace_back([this, rank] { worker(rank); });
        try {
            m_group = make_group(0);  // returns once every stage has connected
        } catch (const std::exception& e) {
            stop();
            fail(StatusCode::DeviceError, "pipeline: the ", size, " stages did not connect within ",
                 m_timeout.count(), " ms (", first_line(e.what()), ")");
        }
        LIPAR_LOG_INFO("pipeline: ", size, " stages over c10d/Gloo, blocks ", describe_stages(m_ranges));
    }

    ~C10dStagePipeline() override {
        try {
            drain();
        } catch (const std::exception& e) {
            LIPAR_LOG_WARN("pipeline: ", first_line(e.what()));
        }
        stop();
    }

    torch::Tensor run(const torch::Tensor& x, int64_t num_layers, const Layer& layer) override {
        auto job = start(x, num_layers, layer);
        // A detached pass ahead of this one answers first (its stages ran it first); when it
        // failed, this pass is still taken back from the stages before its failure is thrown.
        try {
            drain();
        } catch (...) {
            if (!m_broken) {
                try {
                    finish(*job, x.size(0));
                } catch (...) {
                }
            }
            throw;
        }
        return finish(*job, x.size(0));
    }

    void run_detached(const torch::Tensor& x, int64_t num_layers, Layer layer) override {
        drain();  // one detached pass in flight at most
        m_detached = start(x, num_layers, std::move(layer));
        if (m_detached->failed_here) drain();  // the first stage failed: no point going on
    }

    void drain() override {
        if (!m_detached) return;
        auto job = std::move(m_detached);
        m_detached.reset();
        finish(*job, job->sizes[0]);
    }

    std::vector<LayerRange> ranges() const override { return m_ranges; }

    void set_ranges(const std::vector<LayerRange>& ranges) override {
        check_ranges(ranges);
        LIPAR_CHECK(ranges.size() == m_ranges.size() && ranges.back().end == m_ranges.back().end,
                    StatusCode::InvalidArgument, "new pipeline stages ", describe_stages(ranges),
                    " do not cover the same blocks in the same number of stages as ", describe_stages(m_ranges));
        drain();
        std::lock_guard<std::mutex> lock(m_mutex);
        LIPAR_CHECK(m_jobs.empty(), StatusCode::Internal, "pipeline stages re-split while a pass is in flight");
        m_ranges = ranges;
    }

    Busy take_busy() override {
        std::lock_guard<std::mutex> lock(m_mutex);
        Busy out = m_busy;
        m_busy = Busy{std::vector<double>(m_ranges.size(), 0.0), 0};
        return out;
    }

private:
    struct Job {
        Layer layer;  // owned: a detached pass outlives its caller's frame
        at::ThreadLocalState state;
        std::vector<int64_t> sizes;
        torch::TensorOptions options;
        uint64_t generation = 0;
        int done = 0;                          // workers finished with it
        std::optional<StageFailure> failure;   // the first stage that failed
        bool failed_here = false;              // the caller's own stage failed
        std::vector<LayerRange> ranges;        // the stages' blocks when it was posted
        std::vector<at::Tensor> sent, result;  // to stage 1; the ring's answer
        c10::intrusive_ptr<c10d::Work> sending, receiving;
    };

    static double ms_since(std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    }

    // Posts a pass, runs the first stage here and hands its activations to stage 1.
    std::shared_ptr<Job> start(const torch::Tensor& x, int64_t num_layers, Layer layer) {
        LIPAR_CHECK(num_layers == m_ranges.back().end, StatusCode::InvalidArgument, "the pipeline's stages cover ",
                    m_ranges.back().end, " blocks, the model has ", num_layers);
        LIPAR_CHECK(!m_broken, StatusCode::DeviceError,
                    "the pipeline stopped after a stage did not answer; restart the engine");
        LIPAR_CHECK(x.device().is_cpu(), StatusCode::Unsupported, "pipeline stages run on the CPU only for now");
        auto job = std::make_shared<Job>();
        job->layer = std::move(layer);
        job->ranges = m_ranges;
        job->sizes = x.sizes().vec();
        job->options = x.options();
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            job->generation = ++m_generation;
            m_jobs.push_back(job);
        }
        m_wake.notify_all();
        torch::Tensor h = x;
        const auto started = std::chrono::steady_clock::now();
        try {
            for (int64_t i = job->ranges[0].begin; i < job->ranges[0].end; ++i) h = job->layer(i, h);
            LIPAR_CHECK(h.sizes() == x.sizes() && h.scalar_type() == x.scalar_type(), StatusCode::Internal,
                        "a transformer block changed the activations' shape or type");
        } catch (...) {
            job->failure = describe(0, std::current_exception());
            job->failed_here = true;
            h = torch::zeros(x.sizes(), x.options());
        }
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_busy.ms[0] += ms_since(started);
            ++m_busy.passes;
        }
        // The activations go round the ring 0 -> 1 -> ... -> N-1 -> 0, the failure flag with them.
        // Neither transfer is waited for here: a Gloo send completes once its receiver has posted
        // the receive, which stage 1 does only after the passes ahead of this one.
        job->sent = {with_flag(h, job->failed_here)};
        job->result = {torch::empty(job->sent[0].sizes(), job->sent[0].options())};
        try {
            job->sending = m_group->send(job->sent, 1, tag(*job));
            job->receiving = m_group->recv(job->result, static_cast<int>(m_ranges.size()) - 1, tag(*job));
        } catch (const std::exception& e) {
            m_broken = true;
            fail(StatusCode::DeviceError, "pipeline: could not hand a pass to stage 1 (", first_line(e.what()), ")");
        }
        return job;
    }

    // Receives a pass's answer from the last stage, waits until every worker is done with it and
    // throws what failed.
    torch::Tensor finish(Job& job, int64_t batch) {
        const int size = static_cast<int>(m_ranges.size());
        try {
            job.sending->wait(m_timeout);
            job.receiving->wait(m_timeout);
        } catch (const std::exception& e) {
            m_broken = true;
            fail(StatusCode::DeviceError, "pipeline: a stage did not answer within ", m_timeout.count(),
                 " ms (", first_line(e.what()), ")");
        }
        std::optional<StageFailure> failure;
        {
            // Every worker is done with this pass's context before the caller moves on.
            std::unique_lock<std::mutex> lock(m_mutex);
            if (!m_done_cv.wait_for(lock, m_timeout, [&] { return job.done == size - 1; })) {
                m_broken = true;
                fail(StatusCode::DeviceError, "pipeline: a stage did not finish within ", m_timeout.count(), " ms");
            }
            failure = job.failure;
            m_jobs.erase(std::remove_if(m_jobs.begin(), m_jobs.end(),
                                        [&](const std::shared_ptr<Job>& j) { return j.get() == &job; }),
                         m_jobs.end());
        }
        if (failure) {
            const LayerRange& r = job.ranges[static_cast<size_t>(failure->stage)];
            fail(failure->code, "pipeline stage ", failure->stage, " (blocks ", r.begin, "-", r.end - 1, ") failed: ",
                 failure->message);
        }
        return job.result[0].narrow(0, 0, batch);
    }

    // The activations [B, N, D] with one more row along the batch holding the failure flag, so
    // that one transfer carries both.
    static torch::Tensor with_flag(const torch::Tensor& h, bool failed) {
        auto flag = torch::full({1, h.size(1), h.size(2)}, failed ? 1.0 : 0.0, h.options());
        return torch::cat({h.contiguous(), flag}).contiguous();
    }
    static bool flagged(const torch::Tensor& t) { return t[-1][0][0].item<double>() != 0.0; }

    static int tag(const Job& job) { return static_cast<int>(job.generation % 1000000); }

    static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

    static StageFailure describe(int64_t stage, std::exception_ptr e) {
        StageFailure f;
        f.stage = stage;
        try {
            std::rethrow_exception(e);
        } catch (const Error& err) {
            f.code = err.code();
            f.message = err.what();
        } catch (const c10::OutOfMemoryError& err) {
            f.code = StatusCode::OutOfMemory;
            f.message = first_line(err.what());
        } catch (const std::exception& err) {
            f.message = first_line(err.what());
        } catch (...) {
            f.message = "unknown exception";
        }
        return f;
    }

    c10::intrusive_ptr<c10d::ProcessGroupGloo> make_group(int rank) {
        auto options = c10d::ProcessGroupGloo::Options::create();
        options->timeout = m_timeout;
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        return c10::make_intrusive<c10d::ProcessGroupGloo>(m_store, rank, static_cast<int>(m_ranges.size()), options);
    }

    // Stage `rank`: takes the passes in the order they were posted, each as soon as the stage
    // before hands it on (so the first stages may already run the next pass).
    void worker(int rank) {
        c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
        try {
            group = make_group(rank);
        } catch (const std::exception& e) {
            LIPAR_LOG_ERROR("pipeline stage ", rank, ": could not connect: ", first_line(e.what()));
            return;
        }
        const int size = static_cast<int>(m_ranges.size());
        uint64_t next = 1;
        for (;;) {
            std::shared_ptr<Job> job;
            {
                std::unique_lock<std::mutex> lock(m_mutex);
                m_wake.wait(lock, [&] { return m_stop || m_generation >= next; });
                if (m_stop) return;
                for (const auto& j : m_jobs)
                    if (j->generation == next) job = j;
            }
            ++next;
            if (!job) continue;  // cannot happen: a job leaves the queue once every worker is done
            std::optional<StageFailure> failure;
            try {
                at::ThreadLocalStateGuard state(job->state);
                auto shape = job->sizes;
                shape[0] += 1;
                std::vector<at::Tensor> buffer{torch::empty(shape, job->options)};
                group->recv(buffer, rank - 1, tag(*job))->wait(m_timeout);
                const bool upstream_failed = flagged(buffer[0]);
                torch::Tensor h = buffer[0].narrow(0, 0, job->sizes[0]);
                if (!upstream_failed) {
                    const LayerRange range = job->ranges[static_cast<size_t>(rank)];
                    const auto started = std::chrono::steady_clock::now();
                    try {
                        for (int64_t i = range.begin; i < range.end; ++i) h = job->layer(i, h);
                    } catch (...) {
                        failure = describe(rank, std::current_exception());
                        h = torch::zeros(job->sizes, job->options);
                    }
                    std::lock_guard<std::mutex> lock(m_mutex);
                    m_busy.ms[static_cast<size_t>(rank)] += ms_since(started);
                }
                std::vector<at::Tensor> out{with_flag(h, upstream_failed || failure.has_value())};
                group->send(out, (rank + 1) % size, tag(*job))->wait(m_timeout);
            } catch (const std::exception& e) {
                // The transport itself failed: the caller's wait times out and reports it.
                LIPAR_LOG_ERROR("pipeline stage ", rank, ": ", first_line(e.what()));
                std::lock_guard<std::mutex> lock(m_mutex);
                if (!job->failure) job->failure = StageFailure{rank, StatusCode::DeviceError, first_line(e.what())};
                return;
            }
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                if (failure && !job->failure) job->failure = failure;
                ++job->done;
            }
            m_done_cv.notify_all();
        }
    }

    void stop() {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop = true;
        }
        m_wake.notify_all();
        for (auto& t : m_workers)
            if (t.joinable()) t.join();
        m_workers.clear();
    }

    std::vector<LayerRange> m_ranges;
    std::chrono::milliseconds m_timeout;
    c10::intrusive_ptr<c10d::Store> m_store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> m_group;  // rank 0 (the caller's thread)
    std::vector<std::thread> m_workers;
    std::mutex m_mutex;
    std::condition_variable m_wake, m_done_cv;
    std::vector<std::shared_ptr<Job>> m_jobs;  // posted, not yet finished by every worker
    std::shared_ptr<Job> m_detached;           // the caller's: a detached pass not yet finished
    Busy m_busy;
    uint64_t m_generation = 0;
    bool m_stop = false;
    bool m_broken = false;
};

}  // namespace

std::shared_ptr<StagePipeline> make_stage_pipeline(const std::vector<LayerRange>& ranges,
                                                   const torch::Device& device,
                                                   std::chrono::milliseconds timeout) {
    check_ranges(ranges);
    LIPAR_CHECK(device.is_cpu(), StatusCode::Unsupported,
                "pipeline stages on ", device.str(), " are not built yet: stages on several GPUs need NCCL and "
                "per-stage weights and caches (no multi-GPU machine to test them on); on the CPU they run over Gloo");
    if (ranges.size() == 1) return nullptr;  // one stage: the model's own loop
    keep_nvlink_multicast_off();
    return std::make_shared<C10dStagePipeline>(ranges, timeout);
}

#endif

}  // namespace lipar::parallel
