#include "pipeline/cross_attn_store.h"

#include <algorithm>

#include "core/error.h"

namespace lipar::pipeline {

const model::CrossAttnCache* CrossAttnStore::get(const std::string& prompt, bool wait,
                                                 const std::string& in_use) {
    auto it = m_store.find(prompt);
    if (it != m_store.end()) return &it->second;
    auto context = wait ? m_text.wait(prompt) : m_text.poll(prompt);
    if (!context.defined()) return nullptr;
    auto cache = m_dit.encode_context(context.to(m_device));
    if (m_order.size() >= m_capacity) {
        // Never the prompt in use (it is the newest but one at most).
        const std::string oldest =
            m_order.front() == in_use && m_order.size() > 1 ? m_order[1] : m_order.front();
        m_store.erase(oldest);
        m_order.erase(std::find(m_order.begin(), m_order.end(), oldest));
    }
    m_order.push_back(prompt);
    return &m_store.emplace(prompt, std::move(cache)).first->second;
}

void CrossAttnStore::place(const std::vector<torch::Device>& devices) {
    for (auto& [prompt, cache] : m_store) {
        LIPAR_CHECK(cache.k.size() == devices.size(), StatusCode::Internal, "prompt K/V of ", cache.k.size(),
                    " blocks placed on ", devices.size(), " devices");
        for (size_t i = 0; i < devices.size(); ++i) {
            cache.k[i] = cache.k[i].to(devices[i]);
            cache.v[i] = cache.v[i].to(devices[i]);
        }
    }
}

}  // namespace lipar::pipeline
