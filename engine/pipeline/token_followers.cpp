#include "pipeline/token_followers.h"

#include <ATen/ThreadLocalState.h>

#include "core/error.h"
#include "core/log.h"
#include "parallel/token_group.h"
#include "pipeline/editor.h"

namespace lipar::pipeline {

TokenFollowers::TokenFollowers(const ModelPack& pack, const EditorSettings& settings) {
    const auto& s = settings;
    LIPAR_CHECK(s.token_workers >= 1 && s.token_workers <= 16, StatusCode::InvalidArgument,
                "token workers must be 1..16, got ", s.token_workers);
    LIPAR_CHECK(s.pipeline_stages == 1, StatusCode::InvalidArgument,
                "pipeline stages and token workers cannot be combined (split by layers or by tokens)");
    LIPAR_CHECK(s.block_devices.empty() && s.stage_devices.empty(), StatusCode::InvalidArgument,
                "token workers each hold a whole replica: no devices per block or stage");
    LIPAR_CHECK(s.device.is_cpu(), StatusCode::Unsupported, "token workers on ", s.device.str(),
                " are not built yet: on GPUs they need NCCL (no multi-GPU machine to test them on); on the "
                "CPU they run over Gloo");
    auto factory = std::make_shared<parallel::TokenGroupFactory>(static_cast<int>(s.token_workers), s.worker_timeout);
    m_editors.resize(static_cast<size_t>(s.token_workers - 1));
    for (int rank = 1; rank < s.token_workers; ++rank) {
        auto follower = settings;
        follower.token_workers = 1;
        follower.latents_only = true;  // worker 0 encodes and decodes; the others edit its latents
        follower.prompt_cache_on_disk = false;  // worker 0 writes the files
        follower.keep_latents = false;
        auto* slot = &m_editors[static_cast<size_t>(rank - 1)];
        m_threads.push_back(std::make_unique<parallel::WorkerThread>());
        m_loading.push_back(m_threads.back()->post([factory, rank, follower, pack, slot]() mutable {
            follower.token_group = factory->connect(rank);
            *slot = std::make_unique<Editor>(pack, follower);
        }));
    }
    m_group = factory->connect(0);
}

TokenFollowers::~TokenFollowers() = default;

void TokenFollowers::wait_loaded() { wait(m_loading); }

std::vector<std::future<void>> TokenFollowers::post(const std::function<void(Editor&)>& call) {
    std::vector<std::future<void>> done;
    for (size_t k = 0; k < m_editors.size(); ++k) {
        Editor* editor = m_editors[k].get();
        // With worker 0's grad and inference modes (the studio's engine thread runs in one) and
        // its count of intra-op threads (OpenMP's is per thread).
        done.push_back(m_threads[k]->post([editor, call, k, state = at::ThreadLocalState(),
                                           threads = at::get_num_threads()] {
            at::ThreadLocalStateGuard guard(state);
            if (at::get_num_threads() != threads) at::set_num_threads(threads);
            try {
                call(*editor);
            } catch (const Error& e) {
                fail(e.code(), "token worker ", k + 1, ": ", e.what());
            } catch (const c10::OutOfMemoryError& e) {
                fail(StatusCode::OutOfMemory, "token worker ", k + 1, ": ", e.what());
            } catch (const std::exception& e) {
                fail(StatusCode::Internal, "token worker ", k + 1, ": ", e.what());
            }
        }));
    }
    return done;
}

void TokenFollowers::replay(const std::function<void(Editor&)>& call) {
    auto done = post(call);
    wait(done);
}

void TokenFollowers::start_edit(const torch::Tensor& z, const std::string& prompt) {
    LIPAR_CHECK(!m_broken, StatusCode::DeviceError,
                "the token workers stopped after a failure (their gathers are out of step); restart the engine");
    // Their own copy of the latents: worker 0 may write into its input while they read theirs.
    m_editing = post([z = z.clone(), prompt](Editor& e) { e.edit_following(z, prompt); });
}

void TokenFollowers::finish_edit() {
    try {
        wait(m_editing);
    } catch (...) {
        m_broken = true;
        throw;
    }
}

void TokenFollowers::finish_edit_after_failure(bool theirs_first) {
    m_broken = true;
    try {
        wait(m_editing);
    } catch (const std::exception& e) {
        if (theirs_first) throw;
        LIPAR_LOG_WARN("editor: ", e.what());
    }
}

void TokenFollowers::wait(std::vector<std::future<void>>& done) {
    std::exception_ptr first;
    for (auto& f : done) {
        try {
            f.get();
        } catch (...) {
            if (!first) first = std::current_exception();
        }
    }
    done.clear();
    if (first) std::rethrow_exception(first);
}

}  // namespace lipar::pipeline
