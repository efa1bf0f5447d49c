#pragma once
// The cross-attention keys/values of recent prompts (every DiT block's, made once per prompt from
// its text embedding), so that switching back and forth between prompts costs nothing after the
// first time. Holds at most `capacity`, dropping the oldest but never the one in use.
// Engine thread only.

#include <torch/torch.h>

#include <deque>
#include <map>
#include <string>

#include "model/dit/wan_dit.h"
#include "pipeline/async_prompt_encoder.h"

namespace lipar::pipeline {

class CrossAttnStore {
public:
    CrossAttnStore(model::WanDitImpl& dit, AsyncPromptEncoder& text, const torch::Device& device,
                   size_t capacity = 8)
        : m_dit(dit), m_text(text), m_device(device), m_capacity(capacity) {}

    // The prompt's K/V: stored, or made once its embedding is ready (waiting for it when `wait`);
    // nullptr while it is still being encoded. `in_use` is never dropped to make room.
    const model::CrossAttnCache* get(const std::string& prompt, bool wait, const std::string& in_use);
    // A prompt get() returned (throws std::out_of_range otherwise).
    const model::CrossAttnCache& at(const std::string& prompt) const { return m_store.at(prompt); }
    // Every stored prompt's K/V of block i moved to devices[i] (the DiT's blocks moved there).
    void place(const std::vector<torch::Device>& devices);

private:
    model::WanDitImpl& m_dit;
    AsyncPromptEncoder& m_text;
    torch::Device m_device;
    size_t m_capacity;
    std::map<std::string, model::CrossAttnCache> m_store;
    std::deque<std::string> m_order;  // oldest first
};

}  // namespace lipar::pipeline
