#pragma once
// Token workers 1 .. N-1 of an editor (EditorSettings::token_workers, parallel/token_group.h):
// their editors (latents only), each made and driven on a thread of its own. Worker 0, the
// editor that owns this, replays on them every call that changes the stream and posts each
// block's edit, which they run with worker 0's prompt choice while worker 0 edits the same block;
// all meet in each pass's gathers.

#include <torch/torch.h>

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "model/dit/token_group.h"
#include "parallel/worker_thread.h"

namespace lipar::pipeline {

class Editor;
struct EditorSettings;
struct ModelPack;

class TokenFollowers {
public:
    // Starts making the other workers' editors from worker 0's settings and connects worker 0
    // (returns once every worker has connected; their editors may still be loading).
    TokenFollowers(const ModelPack& pack, const EditorSettings& settings);
    ~TokenFollowers();
    // Worker 0's connection to the group.
    const std::shared_ptr<model::TokenGroup>& group() const { return m_group; }
    // Waits until every other worker's editor is made (throws what failed).
    void wait_loaded();
    // `call` on every other worker's editor, waited for (throws the first failure).
    void replay(const std::function<void(Editor&)>& call);
    // Posts the block's edit (latents z, copied; the prompt worker 0 chose) to every other worker;
    // finish_edit waits for them and throws the first failure, naming its worker. After a failure
    // the workers' gathers are out of step: every later edit is refused (restart the engine).
    void start_edit(const torch::Tensor& z, const std::string& prompt);
    void finish_edit();
    // Worker 0's own edit failed: waits for the others; throws the first of their failures when
    // `theirs_first` (worker 0 only timed out waiting for them), else only logs them.
    void finish_edit_after_failure(bool theirs_first);

private:
    // Exceptions come back naming their worker.
    std::vector<std::future<void>> post(const std::function<void(Editor&)>& call);
    static void wait(std::vector<std::future<void>>& done);

    std::shared_ptr<model::TokenGroup> m_group;
    std::vector<std::unique_ptr<Editor>> m_editors;
    // After the editors: destroyed first, so their jobs are done before the editors go.
    std::vector<std::unique_ptr<parallel::WorkerThread>> m_threads;
    std::vector<std::future<void>> m_loading, m_editing;
    bool m_broken = false;
};

}  // namespace lipar::pipeline
