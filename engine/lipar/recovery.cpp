#include "lipar/recovery.h"

#include "core/error.h"

namespace lipar::accel {

void ReferenceKv::reset() {
    for (auto& t : m_k) t = torch::Tensor();
    for (auto& t : m_v) t = torch::Tensor();
    m_valid.clear();
}

bool ReferenceKv::complete() const {
    if (m_valid.empty()) return false;
    for (bool v : m_valid) {
        if (!v) return false;
    }
    return true;
}

bool ReferenceKv::covers(const PrunePlan& plan) const {
    if (plan.all_kept()) return true;
    if (static_cast<int64_t>(m_valid.size()) != plan.tokens_per_frame()) return false;
    for (size_t loc = 0; loc < m_valid.size(); ++loc) {
        if (plan.location_pruned[loc] && !m_valid[loc]) return false;
    }
    return true;
}

PlanIndices PlanIndices::on(const PrunePlan& plan, const torch::Device& device) {
    // Tensors already there are shared, not copied (one device: the plan's own tensors).
    auto to = [&](const torch::Tensor& t) { return t.defined() && t.device() != device ? t.to(device) : t; };
    PlanIndices out;
    out.kept_index = to(plan.kept_index);
    out.pruned_index = to(plan.pruned_index);
    out.pruned_loc = to(plan.pruned_loc);
    out.ref_src = to(plan.ref_src);
    out.ref_dst = to(plan.ref_dst);
    out.ref_shift_src = to(plan.ref_shift_src);
    out.rope_pruned = model::RopeTable{to(plan.rope_pruned.cos), to(plan.rope_pruned.sin), to(plan.rope_pruned.rotation)};
    return out;
}

void ReferenceKv::refresh(int64_t layer, const PrunePlan& plan, const torch::Tensor& k_pre,
                          const torch::Tensor& v) {
    refresh(layer, plan, PlanIndices::on(plan, k_pre.device()), k_pre, v);
}

void ReferenceKv::refresh(int64_t layer, const PrunePlan& plan, const PlanIndices& idx, const torch::Tensor& k_pre,
                          const torch::Tensor& v) {
    auto& rk = m_k[static_cast<size_t>(layer)];
    auto& rv = m_v[static_cast<size_t>(layer)];
    const int64_t b = k_pre.size(0), hw = plan.tokens_per_frame();
    if (!rk.defined() || rk.size(0) != b || rk.size(1) != hw) {
        rk = torch::zeros({b, hw, k_pre.size(2), k_pre.size(3)}, k_pre.options());
        rv = torch::zeros({b, hw, v.size(2), v.size(3)}, v.options());
    }
    if (idx.ref_shift_src.defined()) {
        // Motion: the reference moves along with the frames first (lipar/motion.h).
        rk = rk.index_select(1, idx.ref_shift_src);
        rv = rv.index_select(1, idx.ref_shift_src);
    }
    if (!idx.ref_dst.defined() || idx.ref_dst.numel() == 0) return;
    rk.index_copy_(1, idx.ref_dst, k_pre.index_select(1, idx.ref_src));
    rv.index_copy_(1, idx.ref_dst, v.index_select(1, idx.ref_src));
}

void ReferenceKv::mark_refreshed(const PrunePlan& plan) {
    if (static_cast<int64_t>(m_valid.size()) != plan.tokens_per_frame()) {
        m_valid.assign(static_cast<size_t>(plan.tokens_per_frame()), false);
    }
    if (!plan.ref_shift_host.empty()) {
        std::vector<bool> moved(m_valid.size(), false);
        for (size_t loc = 0; loc < moved.size(); ++loc) {
            const int64_t src = plan.ref_shift_host[loc];
            moved[loc] = src >= 0 && m_valid[static_cast<size_t>(src)];
        }
        m_valid = std::move(moved);
    }
    for (size_t loc = 0; loc < m_valid.size(); ++loc) {
        if (plan.location_kept[loc]) m_valid[loc] = true;
    }
}

void ReferenceKv::place_layers(const std::vector<torch::Device>& devices) {
    LIPAR_CHECK(devices.size() == m_k.size(), StatusCode::Internal, "a clean reference of ", m_k.size(),
                " layers placed on ", devices.size(), " devices");
    for (size_t i = 0; i < m_k.size(); ++i) {
        if (m_k[i].defined()) m_k[i] = m_k[i].to(devices[i]);
        if (m_v[i].defined()) m_v[i] = m_v[i].to(devices[i]);
    }
}

int64_t ReferenceKv::memory_bytes() const {
    int64_t bytes = 0;
    for (size_t i = 0; i < m_k.size(); ++i) {
        if (m_k[i].defined()) bytes += 2 * m_k[i].numel() * m_k[i].element_size();
    }
    return bytes;
}

PrunedKvProvider::PrunedKvProvider(model::KvCache& cache, ReferenceKv& reference,
                                   const PrunePlan& plan, PruneMode mode, bool refresh_reference)
    : m_cache(cache),
      m_reference(reference),
      m_plan(plan),
      m_recover(mode == PruneMode::Lipar && !plan.all_kept() && reference.covers(plan)),
      m_refresh(refresh_reference),
      m_recovered_staged(m_recover && cache.staging_tag() == staging_tag()) {
    LIPAR_CHECK(mode == PruneMode::Naive || mode == PruneMode::Lipar, StatusCode::InvalidArgument,
                "PrunedKvProvider needs mode naive or lipar");
    for (int64_t layer = 0; layer < cache.layers(); ++layer) {
        const auto device = cache.layer_device(layer);
        bool known = false;
        for (const auto& [d, idx] : m_indices) known = known || d == device;
        if (!known) m_indices.emplace_back(device, PlanIndices::on(plan, device));
    }
}

const PlanIndices& PrunedKvProvider::indices(int64_t layer) const {
    const auto device = m_cache.layer_device(layer);
    for (const auto& [d, idx] : m_indices)
        if (d == device) return idx;
    fail(StatusCode::Internal, "no prune plan indices on ", device.str());
}

int64_t PrunedKvProvider::stage_without_kept_tokens(int64_t layers, int64_t batch) {
    if (!m_recover) return 0;
    stage_recovered(layers, batch);
    return m_plan.tokens_per_frame();
}

void PrunedKvProvider::stage_recovered(int64_t layers, int64_t batch) {
    LIPAR_CHECK(m_recover, StatusCode::Internal, "stage_recovered without recovery");
    for (int64_t layer = 0; layer < layers; ++layer) {
        const auto& idx = indices(layer);
        auto [ks, vs] = m_cache.staging(layer, batch, m_plan.total());
        auto ref_k = m_reference.keys(layer).index_select(1, idx.pruned_loc);
        ks.index_copy_(1, idx.pruned_index, model::apply_rope(ref_k, idx.rope_pruned));
        vs.index_copy_(1, idx.pruned_index, m_reference.values(layer).index_select(1, idx.pruned_loc));
    }
    m_recovered_staged = true;
}

std::pair<torch::Tensor, torch::Tensor> PrunedKvProvider::write_slots(int64_t layer, int64_t batch,
                                                                      int64_t n) {
    if (m_recover) return {};
    return m_cache.write_slots(layer, batch, n);
}

std::pair<torch::Tensor, torch::Tensor> PrunedKvProvider::keys_values(int64_t layer,
                                                                      const torch::Tensor& k_pre,
                                                                      const torch::Tensor& k,
                                                                      const torch::Tensor& v) {
    std::pair<torch::Tensor, torch::Tensor> out;
    if (!m_recover) {
        out = m_cache.stage(layer, k, v);
    } else {
        // Fill the staged block in place: kept slots as computed, pruned slots recovered.
        const auto& idx = indices(layer);
        auto [ks, vs] = m_cache.staging(layer, k.size(0), m_plan.total());
        ks.index_copy_(1, idx.kept_index, k);
        vs.index_copy_(1, idx.kept_index, v);
        if (!m_recovered_staged) {
            auto ref_k = m_reference.keys(layer).index_select(1, idx.pruned_loc);
            auto ref_v = m_reference.values(layer).index_select(1, idx.pruned_loc);
            ks.index_copy_(1, idx.pruned_index, model::apply_rope(ref_k, idx.rope_pruned));
            vs.index_copy_(1, idx.pruned_index, ref_v);
        }
        out = m_cache.staged_keys_values(layer);
    }
    // Refresh after the fill: the fill of this pass uses the previous clean reference.
    if (m_refresh) m_reference.refresh(layer, m_plan, indices(layer), k_pre, v);
    return out;
}

}  // namespace lipar::accel
