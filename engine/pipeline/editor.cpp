#include "pipeline/editor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#include "core/device.h"
#include "core/error.h"
#include "core/gpu_memory.h"
#include "core/log.h"
#include "core/timer.h"
#include "io/checkpoint.h"
#include "media/convert.h"
#include "model/dit/dit_loader.h"

namespace lipar::pipeline {

// The per-stream state of one side of the editor (compare mode has two).
struct Editor::Side {
    model::KvCache cache;
    accel::ReferenceKv reference;
    torch::Tensor prev_last;  // x0 of the previous block's last latent frame [1, C, h, w]
    Side(const model::DitConfig& c, model::KvWindow window, torch::TensorOptions options)
        : cache(c.num_layers, c.num_heads, c.head_dim(), window, options), reference(c.num_layers) {}
    void reset() {
        cache.reset();
        reference.reset();
        prev_last = torch::Tensor();
    }
};

namespace {

accel::PruneMode side_mode(const EditParams& p) {
    switch (p.mode) {
        case EditMode::Off: return accel::PruneMode::Off;
        case EditMode::Naive: return accel::PruneMode::Naive;
        case EditMode::Lipar:
        case EditMode::Compare:
            return p.attention_recovery ? accel::PruneMode::Lipar : accel::PruneMode::Naive;
        case EditMode::Invalid: break;
    }
    return accel::PruneMode::Invalid;
}

accel::DetectorConfig detector_config(const EditParams& p) {
    accel::DetectorConfig c;
    c.tau1 = p.tau1;
    c.tau2 = p.tau2;
    c.min_keep_ratio = p.min_keep_ratio;
    c.motion = p.motion == MotionCompensation::Global ? accel::MotionMode::Global : accel::MotionMode::Off;
    return c;
}

}  // namespace

model::AttentionWindow pack_attention_window(const ModelPack& pack) {
    model::AttentionWindow w;  // the paper's m = [1, 6]
    if (pack.window_sink > 0) w.sink = pack.window_sink;
    if (pack.window_recent > 0) w.recent = pack.window_recent;
    return w;
}

Editor::Editor(const ModelPack& pack, const EditorSettings& settings)
    : m_pack(pack), m_settings(settings), m_schedule(pack.shift) {
    torch::NoGradGuard no_grad;
    m_width = settings.width > 0 ? settings.width : pack.width;
    m_height = settings.height > 0 ? settings.height : pack.height;
    LIPAR_CHECK(m_width % pack.multiple == 0 && m_height % pack.multiple == 0 && m_width > 0 &&
                    m_height > 0,
                StatusCode::InvalidArgument, "resolution ", m_width, "x", m_height,
                " must be a multiple of ", pack.multiple, " in both directions for pack '",
                pack.name, "'");
    m_fpb = settings.frames_per_block > 0 ? settings.frames_per_block : pack.frames_per_block;
    const auto options = torch::TensorOptions().device(settings.device).dtype(settings.dtype);
    Timer t;
    model::DitLoadOptions dit_load;
    dit_load.head_dim = pack.dit_head_dim;
    dit_load.select = pack.dit_select;
    m_dit = model::load_wan_dit(io::load_checkpoint(pack.dit_weights), options, dit_load);
    // The tiny autoencoders are released in fp16 and lose accuracy in bf16 (taef2 latents: 5.6%
    // relative error in bf16 on CUDA, 0.4% in fp16): on CUDA they run in fp16 when the DiT runs in
    // bf16.
    auto ae_options = options;
    if (settings.device.is_cuda() && settings.dtype == torch::kBFloat16) {
        ae_options = options.dtype(torch::kFloat16);
    }
    if (!settings.latents_only) {
        m_ae = model::load_autoencoder(pack.autoencoder_kind, pack.encoder_weights,
                                       pack.decoder_weights, ae_options);
        LIPAR_CHECK(m_ae->latent_channels() == m_dit->config().in_channels,
                    StatusCode::ShapeMismatch, "model pack '", pack.name,
                    "': the autoencoder has ", m_ae->latent_channels(),
                    " latent channels, the DiT takes ", m_dit->config().in_channels);
    }
    m_text = std::make_unique<AsyncPromptEncoder>(
        settings.make_conditioner ? settings.make_conditioner()
                                  : make_conditioner(pack, m_dit->config().text_dim, settings.device,
                                                     settings.prompt_cache_dir));
    if (!m_settings.window)
        m_settings.window =
            model::kv_window(m_settings.attention.value_or(pack_attention_window(pack)), m_fpb);
    m_main = std::make_unique<Side>(m_dit->config(), *m_settings.window, options);
    LIPAR_LOG_INFO("editor: pack '", pack.name, "' loaded on ", device_name(), " in ",
                   static_cast<int>(t.elapsed_ms()), " ms; ", m_width, "x", m_height, ", ", m_fpb,
                   " latent frames per block", pack.untrained ? " [UNTRAINED]" : "");
}

Editor::~Editor() = default;

const model::DitConfig& Editor::dit_config() const { return m_dit->config(); }

std::string Editor::device_name() const { return device_description(m_settings.device); }

std::string Editor::text_summary() const { return m_text->describe(); }

std::string Editor::prompt_status() const { return m_text->status(); }

int64_t Editor::source_frames_per_block() const {
    return m_fpb * (m_ae ? m_ae->temporal_ratio() : 1);
}

void Editor::set_params(const EditParams& params) {
    const std::string why = params.validate();
    LIPAR_CHECK(why.empty(), StatusCode::InvalidArgument, why);
    m_pending = params;
    m_params_dirty = true;
}

void Editor::apply_pending_params() {
    if (!m_params_dirty) return;
    const EditParams old = m_active;
    m_active = m_pending;
    m_params_dirty = false;
    // A change of mode changes what the caches hold (naive caches partial frames, only pruned
    // modes keep a clean reference): start the affected streams afresh.
    if (side_mode(old) != side_mode(m_active) || (old.mode == EditMode::Compare) !=
                                                     (m_active.mode == EditMode::Compare)) {
        m_main->reset();
        if (m_base) m_base->reset();
        m_detector.reset();
    }
    m_detector.set_config(detector_config(m_active));
    if (m_active.mode == EditMode::Compare && !m_base) {
        const auto options =
            torch::TensorOptions().device(m_settings.device).dtype(m_settings.dtype);
        m_base = std::make_unique<Side>(m_dit->config(), *m_settings.window, options);
    }
    if (m_active.mode == EditMode::Compare && old.mode != EditMode::Compare) {
        // The baseline's decoder starts a stream here (its old state belongs to another span).
        if (!m_ae_base) m_ae_base = m_ae->new_stream();
        m_ae_base->reset_decoder();
        m_base_start_latent = m_latent_frame;
        m_base_frames_out = 0;
    }
}

std::vector<double> Editor::step_list() const {
    // 0 means "as the pack was trained": its own step list, or its start level / step count.
    const auto n = m_active.steps > 0 ? static_cast<size_t>(m_active.steps) : m_pack.steps.size();
    const double start =
        m_active.strength > 0 ? std::round(m_active.strength * 1000.0) : m_pack.steps[0];
    if (n == m_pack.steps.size() && std::abs(start - m_pack.steps[0]) < 0.5) return m_pack.steps;
    std::vector<double> steps;
    for (size_t i = 0; i < n; ++i) {
        steps.push_back(std::max(1.0, std::round(start * double(n - i) / double(n))));
    }
    return steps;
}

const model::CrossAttnCache* Editor::cross_cache(const std::string& prompt, bool wait) {
    auto it = m_cross.find(prompt);
    if (it != m_cross.end()) return &it->second;
    auto context = wait ? m_text->wait(prompt) : m_text->poll(prompt);
    if (!context.defined()) return nullptr;
    auto cache = m_dit->encode_context(context.to(m_settings.device));
    if (m_cross_order.size() >= 8) {
        // Never the prompt in use (it is the newest but one at most).
        const std::string oldest = m_cross_order.front() == m_effective_prompt && m_cross_order.size() > 1
                                       ? m_cross_order[1]
                                       : m_cross_order.front();
        m_cross.erase(oldest);
        m_cross_order.erase(std::find(m_cross_order.begin(), m_cross_order.end(), oldest));
    }
    m_cross_order.push_back(prompt);
    return &m_cross.emplace(prompt, std::move(cache)).first->second;
}

void Editor::choose_prompt() {
    const std::string& wanted = m_active.prompt;
    if (m_has_effective_prompt && wanted == m_effective_prompt) return;
    // Files wait for a new prompt (it applies exactly at this block); live streams go on with the
    // current prompt until the new one is ready. The first prompt is always waited for.
    const bool wait = !m_settings.async_prompts || !m_has_effective_prompt;
    if (cross_cache(wanted, wait) == nullptr) return;
    if (m_has_effective_prompt && m_active.reset_on_prompt_change) {
        m_main->reset();
        if (m_base) m_base->reset();
    }
    m_effective_prompt = wanted;
    m_has_effective_prompt = true;
}
torch::Tensor Editor::to_tensor(const Frame& frame) const {
    auto cpu = torch::from_blob(const_cast<uint8_t*>(frame.rgb.data()),
                                {frame.height, frame.width, 3}, torch::kUInt8);
    return cpu.to(m_settings.device).permute({2, 0, 1}).to(torch::kFloat32).div_(255.0);
}

Frame Editor::to_frame(const torch::Tensor& rgb) const {
    auto u8 = rgb.to(torch::kFloat32)
                  .clamp(0.0, 1.0)
                  .mul(255.0)
                  .round()
                  .to(torch::kUInt8)
                  .permute({1, 2, 0})
                  .contiguous()
                  .to(torch::kCPU);
    Frame f;
    f.resize(static_cast<int>(u8.size(1)), static_cast<int>(u8.size(0)));
    std::memcpy(f.rgb.data(), u8.data_ptr<uint8_t>(), f.byte_size());
    return f;
}

torch::Tensor Editor::denoise(Side& side, const torch::Tensor& z, const accel::PrunePlan& plan,
                              accel::PruneMode mode, int64_t block) {
    const auto steps = step_list();
    const auto ts = m_schedule.warp(steps);
    // Noise from (seed, block, step): both sides of compare mode get the same. Drawn where the
    // latents are (an upload of CPU noise would wait for the device before every step).
    auto noise = [&](int64_t step) {
        if (m_settings.noise) return m_settings.noise(block, step, z.sizes()).to(z.device(), torch::kFloat32);
        const uint64_t seed = m_active.seed * 1000003ull + static_cast<uint64_t>(block) * 101ull +
                              static_cast<uint64_t>(step);
        if (!z.device().is_cpu()) {
            // The device's default generator, reseeded (only the engine thread draws from it).
            auto gen = at::globalContext().defaultGenerator(z.device());
            {
                // randn takes the same (non-recursive) lock itself: release it first.
                std::lock_guard<std::mutex> lock(gen.mutex());
                gen.set_current_seed(seed);
            }
            return torch::randn(z.sizes(), gen, z.options().dtype(torch::kFloat32));
        }
        return torch::randn(z.sizes(), at::detail::createCPUGenerator(seed));
    };
    const auto& cross = m_cross.at(m_effective_prompt);
    if (side.cache.window().recent_frames > 0) {
        // The whole window and the block, allocated once for the stream.
        const auto& w = side.cache.window();
        side.cache.reserve(z.size(0), (w.sink_frames + w.recent_frames + plan.frames) * plan.tokens_per_frame());
    }
    // Timesteps stay on the CPU: the DiT serves their conditioning from its cache.
    auto x = FlowSchedule::add_noise(z, noise(0), m_schedule.sigma(ts[0]));
    torch::Tensor x0;
    for (size_t i = 0; i < ts.size(); ++i) {
        const double sigma = m_schedule.sigma(ts[i]);
        auto flow = accel::pruned_causal_forward(*m_dit, x, torch::full({1}, ts[i]), cross,
                                                 side.cache, side.reference, plan, mode,
                                                 model::CacheWrite::Transient);
        if (m_settings.on_flow && &side == m_main.get()) m_settings.on_flow(block, static_cast<int64_t>(i), flow);
        x0 = FlowSchedule::x0_from_flow(x, flow, sigma);
        if (mode != accel::PruneMode::Off) x0 = accel::restore_pruned(x0, plan, side.prev_last);
        if (i + 1 < ts.size()) {
            x = FlowSchedule::add_noise(x0, noise(static_cast<int64_t>(i) + 1),
                                        m_schedule.sigma(ts[i + 1]));
        }
    }
    accel::pruned_causal_forward(*m_dit, x0, torch::zeros({1}), cross, side.cache,
                                 side.reference, plan, mode, model::CacheWrite::Commit);
    side.prev_last = x0.select(2, x0.size(2) - 1).clone();
    return x0;
}

std::vector<EditedFrame> Editor::push(const Frame& frame) {
    torch::NoGradGuard no_grad;
    LIPAR_CHECK(m_ae, StatusCode::InvalidArgument, "editor: built for latents only (no autoencoder)");
    LIPAR_CHECK(!frame.empty() && frame.rgb.size() >= frame.byte_size(), StatusCode::InvalidArgument,
                "editor: empty or truncated frame");
    Frame fitted = (frame.width == m_width && frame.height == m_height)
                       ? frame
                       : media::fit_frame(frame, m_width, m_height, media::FitMode::Crop);
    fitted.index = m_next_input_index++;
    fitted.pts_s = frame.pts_s;
    Timer t;
    auto z = m_ae->encode_frames(to_tensor(fitted).unsqueeze(0));
    m_encode_ms += t.elapsed_ms(m_settings.device);
    m_inputs.push_back(std::move(fitted));
    for (int64_t i = 0; i < z.size(0); ++i) m_latents.push_back(z[i]);
    std::vector<EditedFrame> out;
    while (static_cast<int64_t>(m_latents.size()) >= m_fpb) {
        std::vector<torch::Tensor> block(m_latents.begin(), m_latents.begin() + m_fpb);
        m_latents.erase(m_latents.begin(), m_latents.begin() + m_fpb);
        auto frames = process_block(torch::stack(block), false);
        out.insert(out.end(), std::make_move_iterator(frames.begin()),
                   std::make_move_iterator(frames.end()));
    }
    return out;
}

std::vector<EditedFrame> Editor::flush() {
    torch::NoGradGuard no_grad;
    std::vector<EditedFrame> out;
    if (m_next_input_index > 0) {
        auto z = m_ae->flush_encoder();
        for (int64_t i = 0; i < z.size(0); ++i) m_latents.push_back(z[i]);
        while (!m_latents.empty()) {
            const auto n = std::min<int64_t>(m_fpb, static_cast<int64_t>(m_latents.size()));
            std::vector<torch::Tensor> block(m_latents.begin(), m_latents.begin() + n);
            m_latents.erase(m_latents.begin(), m_latents.begin() + n);
            auto frames = process_block(torch::stack(block), true);
            out.insert(out.end(), std::make_move_iterator(frames.begin()),
                       std::make_move_iterator(frames.end()));
        }
    }
    const BlockReport last = m_report;  // the final block's report stays readable
    reset();
    m_report = last;
    return out;
}

void Editor::reset() {
    m_main->reset();
    if (m_base) m_base->reset();
    m_detector.reset();
    if (m_ae) m_ae->reset();
    if (m_ae_base) m_ae_base->reset();
    m_base_start_latent = 0;
    m_base_frames_out = 0;
    m_inputs.clear();
    m_latents.clear();
    m_masks.clear();
    m_mask_base = 0;
    m_next_input_index = 0;
    m_next_output_index = 0;
    m_latent_frame = 0;
    m_block = 0;
    m_report = BlockReport{};
    m_encode_ms = 0;
}

torch::Tensor Editor::edit_latents(const torch::Tensor& latents_cfhw) {
    torch::NoGradGuard no_grad;
    apply_pending_params();
    choose_prompt();
    m_report = BlockReport{};
    m_report.block = m_block;
    m_report.encode_ms = m_encode_ms;
    m_encode_ms = 0;
    const auto& dev = m_settings.device;
    auto z = latents_cfhw.to(dev);
    const int64_t f = z.size(1);
    auto zb = z.unsqueeze(0).to(torch::kFloat32);  // [1, C, f, h, w]
    const auto& cfg = m_dit->config();
    LIPAR_CHECK(z.dim() == 4 && z.size(0) == cfg.in_channels && z.size(2) % cfg.patch[1] == 0 &&
                    z.size(3) % cfg.patch[2] == 0,
                StatusCode::ShapeMismatch, "latents ", shape_string(z.sizes()),
                " do not fit the DiT (", cfg.in_channels, " channels, even sizes)");
    const int64_t gh = z.size(2) / cfg.patch[1], gw = z.size(3) / cfg.patch[2];
    const accel::PruneMode mode = side_mode(m_active);

    Timer t;
    if (mode == accel::PruneMode::Off) {
        m_plan = accel::PrunePlan::dense(f, gh, gw, m_latent_frame, cfg.head_dim(), dev);
    } else {
        torch::Tensor keep = m_settings.keep ? m_settings.keep(m_block) : torch::Tensor();
        accel::BlockMotion motion;
        if (!keep.defined()) {
            const auto detection = m_detector.detect(z);
            motion = detection.motion;
            const int64_t bucket =
                m_settings.kept_bucket >= 0 ? m_settings.kept_bucket : accel::default_kept_bucket(dev);
            keep = bucket > 1 ? accel::round_kept_to_bucket(
                                    detection.keep,
                                    accel::keep_score(detection, m_detector.config().tau1, m_detector.config().tau2),
                                    bucket)
                              : detection.keep;
        }
        m_plan = accel::PrunePlan::build(keep.to(dev, torch::kBool), m_latent_frame, cfg.head_dim(),
                                         dev, &motion);
    }
    m_report.detect_ms = t.elapsed_ms(dev);
    m_report.kept_ratio = m_plan.kept_ratio();
    m_report.kept_ratio_per_frame = m_plan.kept_ratio_per_frame();
    m_report.motion_x = m_report.motion_y = 0;
    if (!m_plan.motion.step.empty()) {
        // Latent pixels per latent frame -> video pixels per video frame.
        const double scale = m_ae ? double(m_ae->spatial_ratio()) / double(m_ae->temporal_ratio()) : 1.0;
        for (const auto& s : m_plan.motion.step) {
            m_report.motion_x += scale * double(s.dx) / double(f);
            m_report.motion_y += scale * double(s.dy) / double(f);
        }
    }
    m_report.latent_frames = f;

    t.reset();
    auto x0 = denoise(*m_main, zb, m_plan, mode, m_block);
    m_report.denoise_ms = t.elapsed_ms(dev);
    m_x0_base = torch::Tensor();
    if (m_active.mode == EditMode::Compare) {
        t.reset();
        auto dense = accel::PrunePlan::dense(f, gh, gw, m_latent_frame, cfg.head_dim(), dev);
        m_x0_base = denoise(*m_base, zb, dense, accel::PruneMode::Off, m_block);
        m_report.baseline_denoise_ms = t.elapsed_ms(dev);
    }
    if (mode != accel::PruneMode::Off) m_detector.commit_block(m_plan.keep);
    if (m_settings.keep_latents) {
        m_report.x0 = x0.squeeze(0).to(torch::kCPU, torch::kFloat32);
        m_report.keep = m_plan.keep.to(torch::kCPU);
    }
    m_latent_frame += f;
    ++m_block;
    return x0;
}

std::vector<EditedFrame> Editor::process_block(const torch::Tensor& latents, bool final_block) {
    const auto& dev = m_settings.device;
    auto x0 = edit_latents(latents.permute({1, 0, 2, 3}));
    const auto& plan = m_plan;
    const int64_t f = plan.frames, gh = plan.grid_h, gw = plan.grid_w;
    const accel::PruneMode mode = side_mode(m_active);
    Timer t;
    const torch::Tensor& x0_base = m_x0_base;
    auto keep_cpu = plan.keep.to(torch::kCPU).to(torch::kUInt8).contiguous();
    for (int64_t i = 0; i < f; ++i) {
        const uint8_t* p = keep_cpu.data_ptr<uint8_t>() + i * gh * gw;
        m_masks.emplace_back(p, p + gh * gw);
    }

    t.reset();
    auto frames = m_ae->decode_latents(x0.squeeze(0).permute({1, 0, 2, 3}));
    m_report.decode_ms = t.elapsed_ms(dev);
    torch::Tensor base_frames;
    if (x0_base.defined()) {
        t.reset();
        base_frames = m_ae_base->decode_latents(x0_base.squeeze(0).permute({1, 0, 2, 3}));
        m_report.baseline_decode_ms = t.elapsed_ms(dev);
    }

    // Output k of the decoded stream stands for source frame k + trim (TAEHV withholds its first
    // frames); its latent frame is (k + trim) / temporal_ratio.
    const int64_t trim = m_ae->decoder_frames_to_trim();
    const int64_t ratio = m_ae->temporal_ratio();
    std::vector<EditedFrame> out;
    for (int64_t i = 0; i < frames.size(0); ++i) {
        const int64_t source = m_next_output_index + trim;
        ++m_next_output_index;
        if (source >= m_next_input_index) break;  // padding frames of the final block
        while (!m_inputs.empty() && m_inputs.front().index < source) m_inputs.pop_front();
        EditedFrame e;
        e.index = source;
        if (!m_inputs.empty() && m_inputs.front().index == source) e.input = m_inputs.front();
        e.output = to_frame(frames[i]);
        e.output.index = source;
        const int64_t base_i = source - (m_base_start_latent * ratio + trim + m_base_frames_out);
        if (base_frames.defined() && base_i >= 0 && base_i < base_frames.size(0)) {
            e.baseline = to_frame(base_frames[base_i]);
            e.baseline.index = source;
        }
        const int64_t latent = source / ratio - m_mask_base;
        if (mode != accel::PruneMode::Off && latent >= 0 &&
            latent < static_cast<int64_t>(m_masks.size())) {
            e.keep_mask = m_masks[static_cast<size_t>(latent)];
            e.mask_width = static_cast<int>(gw);
            e.mask_height = static_cast<int>(gh);
        }
        e.mode = m_active.mode;
        out.push_back(std::move(e));
    }
    // Masks of latent frames no later output can need.
    const int64_t needed = (m_next_output_index + trim) / ratio - m_mask_base;
    if (needed > 0 && !final_block) {
        const auto drop = std::min<int64_t>(needed, static_cast<int64_t>(m_masks.size()));
        m_masks.erase(m_masks.begin(), m_masks.begin() + drop);
        m_mask_base += drop;
    }
    if (base_frames.defined()) m_base_frames_out += base_frames.size(0);
    m_report.output_frames = static_cast<int64_t>(out.size());
    return out;
}

}  // namespace lipar::pipeline
