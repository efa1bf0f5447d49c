#include "parallel/token_group.h"

#include "core/error.h"

#if LIPAR_HAVE_C10D
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <string>
#include <vector>
#endif

namespace lipar::parallel {

#if !LIPAR_HAVE_C10D

bool token_groups_available() { return false; }

struct TokenGroupFactory::Store {};

TokenGroupFactory::TokenGroupFactory(int size, std::chrono::milliseconds timeout) : m_size(size), m_timeout(timeout) {
    fail(StatusCode::Unsupported,
         "token workers need LibTorch's c10d with Gloo; this build has none (its LibTorch's c10d headers or "
         "gloo's headers were missing when it was configured; on Debian: libgloo-dev)");
}
TokenGroupFactory::~TokenGroupFactory() = default;
std::shared_ptr<model::TokenGroup> TokenGroupFactory::connect(int) { return nullptr; }

#else

bool token_groups_available() { return true; }

struct TokenGroupFactory::Store {
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::HashStore>();
};

namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

class GlooTokenGroup final : public model::TokenGroup {
public:
    GlooTokenGroup(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, std::chrono::milliseconds timeout)
        : m_rank(rank), m_size(size), m_timeout(timeout) {
        auto options = c10d::ProcessGroupGloo::Options::create();
        options->timeout = timeout;
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        try {
            m_group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
        } catch (const std::exception& e) {
            fail(StatusCode::DeviceError, "token worker ", rank, " of ", size, " could not connect within ",
                 timeout.count(), " ms (", first_line(e.what()), ")");
        }
    }
    int rank() const override { return m_rank; }
    int size() const override { return m_size; }

    torch::Tensor all_gather(const torch::Tensor& shard) override {
        LIPAR_CHECK(shard.device().is_cpu(), StatusCode::Unsupported,
                    "token workers run on the CPU only for now (on GPUs they need NCCL)");
        std::vector<at::Tensor> in{shard.contiguous()};
        std::vector<std::vector<at::Tensor>> out(1);
        {
            // Gloo writes the outputs on a thread of its own, outside the caller's inference mode
            // (the studio's engine thread runs in one): they must not be inference tensors.
            c10::InferenceMode not_inference(false);
            for (int r = 0; r < m_size; ++r) out[0].push_back(torch::empty(in[0].sizes(), in[0].options()));
        }
        try {
            m_group->allgather(out, in)->wait(m_timeout);
        } catch (const std::exception& e) {
            fail(StatusCode::DeviceError, "token worker ", m_rank, ": the other workers did not answer within ",
                 m_timeout.count(), " ms (", first_line(e.what()), ")");
        }
        return torch::cat(out[0], 1);
    }

private:
    int m_rank, m_size;
    std::chrono::milliseconds m_timeout;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> m_group;
};

}  // namespace

TokenGroupFactory::TokenGroupFactory(int size, std::chrono::milliseconds timeout)
    : m_size(size), m_timeout(timeout), m_store(std::make_shared<Store>()) {
    LIPAR_CHECK(size >= 1 && size <= 16, StatusCode::InvalidArgument, "token workers must be 1..16, got ", size);
}

TokenGroupFactory::~TokenGroupFactory() = default;

std::shared_ptr<model::TokenGroup> TokenGroupFactory::connect(int rank) {
    LIPAR_CHECK(rank >= 0 && rank < m_size, StatusCode::InvalidArgument, "token worker ", rank, " of ", m_size);
    return std::make_shared<GlooTokenGroup>(m_store->store, rank, m_size, m_timeout);
}

#endif

}  // namespace lipar::parallel
