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
// Not yet: stages on several GPUs (NCCL, per-stage weights and caches on their own device), and
// consecutive blocks overlapping on different stages (the assembly line that makes N GPUs faster
// than one): here the stages of one pass run one after another.

#include <chrono>
#include <memory>
#include <vector>

#include "model/dit/layer_runner.h"
#include "parallel/stage_plan.h"

namespace lipar::parallel {

bool stage_pipelines_available();

// A runner over `ranges` (balance_stages) for a DiT whose blocks run on `device` (CPU only for
// now; Error(Unsupported) otherwise or without c10d). Starts one worker thread per stage but the
// first and connects them; throws Error(DeviceError) when they do not connect within `timeout`.
std::shared_ptr<model::LayerRunner> make_stage_pipeline(const std::vector<LayerRange>& ranges,
                                                        const torch::Device& device,
                                                        std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace lipar::parallel
