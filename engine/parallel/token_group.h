#pragma once
// Token-parallel workers (issue 16, model/dit/token_group.h): `size` workers, each with a replica
// of the editor, share every DiT pass by tokens; per layer one c10d all-gather (ProcessGroupGloo on
// the CPU, no hand-written transport) hands each worker everyone's keys and values. Unlike pipeline
// stages (parallel/stage_pipeline.h), whose gain a causal stream bounds (docs/PERF.md), every
// worker computes during the whole pass.
//
// Every collective waits at most `timeout`; a worker that does not take part makes the others
// throw Error(DeviceError). Built only where LibTorch has c10d with Gloo
// (token_groups_available()).

#include <chrono>
#include <memory>

#include "model/dit/token_group.h"

namespace lipar::parallel {

bool token_groups_available();

// Connects the workers of one group: every rank 0 .. size - 1 calls connect(rank) once, each on a
// thread of its own; each call returns once all have connected (Error(DeviceError) after
// `timeout`).
class TokenGroupFactory {
public:
    TokenGroupFactory(int size, std::chrono::milliseconds timeout = std::chrono::seconds(60));
    ~TokenGroupFactory();
    std::shared_ptr<model::TokenGroup> connect(int rank);
    int size() const { return m_size; }

private:
    struct Store;
    int m_size;
    std::chrono::milliseconds m_timeout;
    std::shared_ptr<Store> m_store;
};

}  // namespace lipar::parallel
