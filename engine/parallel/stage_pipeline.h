#pragma once
// The DiT's transformer blocks split into pipeline stages (issue 16), one worker thread per stage,
// activations handed from stage to stage through LibTorch's c10d (ProcessGroupGloo on the CPU; no
// hand-written transport). The caller's thread is stage 0: it runs its blocks, sends the
// activations to stage 1, ..., and the last stage sends the result back to it. Workers run with
// the caller's thread-local state (grad mode, inference mode) and share the pass's context (time
// conditioning, cross-attention K/V, the KV provider, the prune plan) in-process; each touches
// only its own blocks' KV-cache layers and clean reference.
//
// Every transfer waits at most `timeout`. A stage that fails (an exception, out of memory) makes
// the pass throw an Error with the stage's code (OutOfMemory, ...; Internal for a foreign
// exception) naming the stage and its message; the later stages pass the failure on without
// computing, so nothing hangs and the pipeline stays usable. A stage that does not answer within
// the timeout makes the pass throw Error(DeviceError), after which the pipeline refuses further
// passes (create a new one).
//
// Built only where LibTorch has c10d with Gloo (Debian: libtorch-dev + libgloo-dev for gloo's
// headers); stage_pipelines_available() says whether this build has it.
//
// Passes flow through the stages like an assembly line where the causal stream lets them: a
// detached pass (run_detached: the committing t = 0 pass, whose output nobody reads) returns as
// soon as stage 0 is done, so the caller decodes, detects and starts the next block's first pass
// on stage 0 while the later stages still commit the last one. Every stage takes the passes in
// the order they were posted, so block i of a pass always runs after block i of the one before
// (the K/V it attends to are committed by then). A detached pass's failure is thrown by the next
// run() or drain().
//
// Not yet: stages on several GPUs (the NCCL transport). The placement they need exists: each
// stage's blocks with their weights, KV-cache layers, clean references and prompt K/V on the
// stage's device (EditorSettings::stage_devices, WanDitImpl::place_blocks).

#include <chrono>
#include <memory>
#include <vector>

#include "model/dit/layer_runner.h"
#include "parallel/stage_plan.h"

namespace lipar::parallel {

bool stage_pipelines_available();

// A LayerRunner whose stages can be measured and re-split.
class StagePipeline : public model::LayerRunner {
public:
    struct Busy {
        std::vector<double> ms;  // per stage: time spent running its blocks
        int64_t passes = 0;      // passes started
    };
    virtual std::vector<LayerRange> ranges() const = 0;
    // The blocks split anew over the same number of stages (waits for a pass in flight first).
    virtual void set_ranges(const std::vector<LayerRange>& ranges) = 0;
    // What the stages did since the last call (host time; the CPU path's stages are synchronous).
    virtual Busy take_busy() = 0;
};

// A runner over `ranges` (balance_stages) for a DiT whose blocks run on `device` (CPU only for
// now; Error(Unsupported) otherwise or without c10d); null for a single stage. Starts one worker
// thread per stage but the first and connects them; throws Error(DeviceError) when they do not
// connect within `timeout`.
std::shared_ptr<StagePipeline> make_stage_pipeline(const std::vector<LayerRange>& ranges,
                                                   const torch::Device& device,
                                                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace lipar::parallel
