#include "parallel/stage_pipeline.h"

#include "core/error.h"
#include "core/log.h"
#include "lipar/gpu_env.h"

#if LIPAR_HAVE_C10D
#include <ATen/ThreadLocalState.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#endif

namespace lipar::parallel {

#if !LIPAR_HAVE_C10D

bool stage_pipelines_available() { return false; }

std::shared_ptr<model::LayerRunner> make_stage_pipeline(const std::vector<LayerRange>&, const torch::Device&,
                                                        std::chrono::milliseconds) {
    fail(StatusCode::Unsupported,
         "pipeline stages need LibTorch's c10d with Gloo; this build has none (its LibTorch's c10d "
         "headers or gloo's headers were missing when it was configured; on Debian: libgloo-dev)");
}

#else

bool stage_pipelines_available() { return true; }

namespace {

// What a failed stage reports to the caller.
struct StageFailure {
    int64_t stage = 0;
    StatusCode code = StatusCode::Internal;
    std::string message;
};

class C10dStagePipeline final : public model::LayerRunner {
public:
    C10dStagePipeline(std::vector<LayerRange> ranges, std::chrono::milliseconds timeout)
        : m_ranges(std::move(ranges)), m_timeout(timeout) {
        const int size = static_cast<int>(m_ranges.size());
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

    ~C10dStagePipeline() override { stop(); }

    torch::Tensor run(const torch::Tensor& x, int64_t num_layers, const Layer& layer) override {
        LIPAR_CHECK(num_layers == m_ranges.back().end, StatusCode::InvalidArgument, "the pipeline's stages cover ",
                    m_ranges.back().end, " blocks, the model has ", num_layers);
        LIPAR_CHECK(!m_broken, StatusCode::DeviceError,
                    "the pipeline stopped after a stage did not answer; restart the engine");
        LIPAR_CHECK(x.device().is_cpu(), StatusCode::Unsupported, "pipeline stages run on the CPU only for now");
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_job = Job{&layer, at::ThreadLocalState(), x.sizes().vec(), x.options(), ++m_generation};
            m_failure.reset();
            m_done = 0;
        }
        m_wake.notify_all();
        const int size = static_cast<int>(m_ranges.size());
        torch::Tensor h = x;
        std::optional<StageFailure> failure;
        try {
            for (int64_t i = m_ranges[0].begin; i < m_ranges[0].end; ++i) h = layer(i, h);
            LIPAR_CHECK(h.sizes() == x.sizes() && h.scalar_type() == x.scalar_type(), StatusCode::Internal,
                        "a transformer block changed the activations' shape or type");
        } catch (...) {
            failure = describe(0, std::current_exception());
            h = torch::zeros(x.sizes(), x.options());
        }
        // The activations go round the ring 0 -> 1 -> ... -> N-1 -> 0, the failure flag with them.
        std::vector<at::Tensor> out{with_flag(h, failure.has_value())};
        std::vector<at::Tensor> in{torch::empty(out[0].sizes(), out[0].options())};
        try {
            m_group->send(out, 1, tag())->wait(m_timeout);
            m_group->recv(in, size - 1, tag())->wait(m_timeout);
        } catch (const std::exception& e) {
            m_broken = true;
            fail(StatusCode::DeviceError, "pipeline: a stage did not answer within ", m_timeout.count(),
                 " ms (", first_line(e.what()), ")");
        }
        {
            // Every worker is done with this pass's context before the caller moves on.
            std::unique_lock<std::mutex> lock(m_mutex);
            if (!m_done_cv.wait_for(lock, m_timeout, [&] { return m_done == size - 1; })) {
                m_broken = true;
                fail(StatusCode::DeviceError, "pipeline: a stage did not finish within ", m_timeout.count(), " ms");
            }
            if (!failure && m_failure) failure = m_failure;
        }
        if (failure)
            fail(failure->code, "pipeline stage ", failure->stage, " (blocks ", m_ranges[static_cast<size_t>(failure->stage)].begin,
                 "-", m_ranges[static_cast<size_t>(failure->stage)].end - 1, ") failed: ", failure->message);
        return in[0].narrow(0, 0, x.size(0));
    }

private:
    struct Job {
        const Layer* layer = nullptr;
        at::ThreadLocalState state;
        std::vector<int64_t> sizes;
        torch::TensorOptions options;
        uint64_t generation = 0;
    };

    // The activations [B, N, D] with one more row along the batch holding the failure flag, so
    // that one transfer carries both.
    static torch::Tensor with_flag(const torch::Tensor& h, bool failed) {
        auto flag = torch::full({1, h.size(1), h.size(2)}, failed ? 1.0 : 0.0, h.options());
        return torch::cat({h.contiguous(), flag}).contiguous();
    }
    static bool flagged(const torch::Tensor& t) { return t[-1][0][0].item<double>() != 0.0; }

    int tag() const { return static_cast<int>(m_generation % 1000000); }

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

    void worker(int rank) {
        c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
        try {
            group = make_group(rank);
        } catch (const std::exception& e) {
            LIPAR_LOG_ERROR("pipeline stage ", rank, ": could not connect: ", first_line(e.what()));
            return;
        }
        const int size = static_cast<int>(m_ranges.size());
        const LayerRange range = m_ranges[static_cast<size_t>(rank)];
        uint64_t seen = 0;
        for (;;) {
            Job job;
            {
                std::unique_lock<std::mutex> lock(m_mutex);
                m_wake.wait(lock, [&] { return m_stop || m_job.generation != seen; });
                if (m_stop) return;
                job = m_job;
                seen = job.generation;
            }
            std::optional<StageFailure> failure;
            try {
                at::ThreadLocalStateGuard state(job.state);
                auto shape = job.sizes;
                shape[0] += 1;
                std::vector<at::Tensor> buffer{torch::empty(shape, job.options)};
                group->recv(buffer, rank - 1, static_cast<int>(job.generation % 1000000))->wait(m_timeout);
                const bool upstream_failed = flagged(buffer[0]);
                torch::Tensor h = buffer[0].narrow(0, 0, job.sizes[0]);
                if (!upstream_failed) {
                    try {
                        for (int64_t i = range.begin; i < range.end; ++i) h = (*job.layer)(i, h);
                    } catch (...) {
                        failure = describe(rank, std::current_exception());
                        h = torch::zeros(job.sizes, job.options);
                    }
                }
                std::vector<at::Tensor> out{with_flag(h, upstream_failed || failure.has_value())};
                group->send(out, (rank + 1) % size, static_cast<int>(job.generation % 1000000))->wait(m_timeout);
            } catch (const std::exception& e) {
                // The transport itself failed: the caller's wait times out and reports it.
                LIPAR_LOG_ERROR("pipeline stage ", rank, ": ", first_line(e.what()));
                std::lock_guard<std::mutex> lock(m_mutex);
                if (!m_failure) m_failure = StageFailure{rank, StatusCode::DeviceError, first_line(e.what())};
                return;
            }
            {
                std::lock_guard<std::mutex> lock(m_mutex);
                if (failure && !m_failure) m_failure = failure;
                ++m_done;
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
    Job m_job;
    uint64_t m_generation = 0;
    int m_done = 0;
    bool m_stop = false;
    bool m_broken = false;
    std::optional<StageFailure> m_failure;
};

}  // namespace

std::shared_ptr<model::LayerRunner> make_stage_pipeline(const std::vector<LayerRange>& ranges,
                                                        const torch::Device& device,
                                                        std::chrono::milliseconds timeout) {
    LIPAR_CHECK(!ranges.empty(), StatusCode::InvalidArgument, "a pipeline needs at least one stage");
    for (size_t i = 0; i < ranges.size(); ++i)
        LIPAR_CHECK(ranges[i].size() > 0 && (i == 0 ? ranges[i].begin == 0 : ranges[i].begin == ranges[i - 1].end),
                    StatusCode::InvalidArgument, "pipeline stages must be contiguous, non-empty block ranges from 0, got ",
                    describe_stages(ranges));
    LIPAR_CHECK(device.is_cpu(), StatusCode::Unsupported,
                "pipeline stages on ", device.str(), " are not built yet: stages on several GPUs need NCCL and "
                "per-stage weights and caches (no multi-GPU machine to test them on); on the CPU they run over Gloo");
    if (ranges.size() == 1) return nullptr;  // one stage: the model's own loop
    keep_nvlink_multicast_off();
    return std::make_shared<C10dStagePipeline>(ranges, timeout);
}

#endif

}  // namespace lipar::parallel
