#include "pipeline/editor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/device.h"
#include "core/error.h"
#include "core/gpu_memory.h"
#include "core/log.h"
#include "core/timer.h"
#include "io/checkpoint.h"
#include "media/convert.h"
#include "model/dit/dit_loader.h"
#include "parallel/stage_plan.h"
#include "parallel/stage_pipeline.h"
#include "pipeline/frame_tensor.h"

namespace lipar::pipeline {

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
    c.motion = p.motion == MotionCompensation::Global  ? accel::MotionMode::Global
               : p.motion == MotionCompensation::Local ? accel::MotionMode::Local
                                                       : accel::MotionMode::Off;
    c.filters = p.detection == DetectionFilters::AuthorsStream ? accel::FilterStyle::AuthorsStream
                : p.detection == DetectionFilters::LookAhead   ? accel::FilterStyle::LookAhead
                                                               : accel::FilterStyle::Causal;
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
    if (settings.token_workers != 1) m_followers = std::make_unique<TokenFollowers>(pack, settings);
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
    m_dit->set_bf16_residual(settings.bf16_residual);
    if (m_followers || settings.token_group)
        m_dit->set_token_group(m_followers ? m_followers->group() : settings.token_group);
    LIPAR_CHECK(settings.block_devices.empty() || settings.stage_devices.empty(), StatusCode::InvalidArgument,
                "devices per block or per pipeline stage, not both");
    LIPAR_CHECK(settings.stage_devices.empty() ||
                    static_cast<int64_t>(settings.stage_devices.size()) == settings.pipeline_stages,
                StatusCode::InvalidArgument, "a device for each of the ", settings.pipeline_stages,
                " pipeline stages, got ", settings.stage_devices.size());
    if (!settings.block_devices.empty()) m_dit->place_blocks(settings.block_devices);
    if (settings.pipeline_stages > 1) {
        // The blocks are alike (one shape, one cost each): equal costs to start with, then the
        // measured split (balance_stages_by_measure).
        const auto ranges = parallel::balance_stages(
            std::vector<double>(static_cast<size_t>(m_dit->config().num_layers), 1.0), settings.pipeline_stages);
        if (!settings.stage_devices.empty()) m_dit->place_blocks(stage_block_devices(ranges));
        m_stages = parallel::make_stage_pipeline(ranges, settings.device, settings.worker_timeout);
        m_dit->set_layer_runner(m_stages);
        m_settings.cuda_graphs = false;  // a graph captures one thread's work
    }
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
                                                     settings.prompt_cache_dir, settings.prompt_cache_on_disk));
    if (!m_settings.window)
        m_settings.window =
            model::kv_window(m_settings.attention.value_or(pack_attention_window(pack)), m_fpb);
    m_main = std::make_unique<StreamState>(m_dit->config(), *m_settings.window, options, m_settings.cuda_graphs);
    m_main->cache.place_layers(m_dit->block_devices());
    m_cross = std::make_unique<CrossAttnStore>(*m_dit, *m_text, settings.device);
    m_planner = std::make_unique<BlockPlanner>(m_dit->config().head_dim(), settings.device,
                                               settings.kept_bucket);
    m_denoiser = std::make_unique<BlockDenoiser>(*m_dit, m_schedule, NoiseSource(settings.noise));
    if (m_followers) m_followers->wait_loaded();
    LIPAR_LOG_INFO("editor: pack '", pack.name, "' loaded on ", device_name(), " in ",
                   static_cast<int>(t.elapsed_ms()), " ms; ", m_width, "x", m_height, ", ", m_fpb,
                   " latent frames per block", pack.untrained ? " [UNTRAINED]" : "");
}

Editor::~Editor() {
    // A committing pass may still run on later stages, on this editor's caches.
    try {
        m_dit->drain_layers();
    } catch (const std::exception& e) {
        LIPAR_LOG_WARN("editor: the last block's cache pass failed: ", e.what());
    }
}

void Editor::wait_for_prompts() {
    m_text->wait_idle();
    on_followers([](Editor& e) { e.wait_for_prompts(); });
}

void Editor::reset_streams() {
    try {
        m_dit->drain_layers();
    } catch (const std::exception& e) {
        LIPAR_LOG_WARN("editor: a cache pass failed before the stream was reset: ", e.what());
    }
    m_main->reset();
    if (m_base) m_base->reset();
}

const model::DitConfig& Editor::dit_config() const { return m_dit->config(); }

std::string Editor::device_name() const {
    std::string name = device_description(m_settings.device);
    if (m_settings.pipeline_stages > 1) name += ", " + std::to_string(m_settings.pipeline_stages) + " pipeline stages";
    if (m_settings.token_workers > 1) name += ", " + std::to_string(m_settings.token_workers) + " token workers";
    return name;
}

std::string Editor::text_summary() const { return m_text->describe(); }

std::string Editor::prompt_status() const { return m_text->status(); }

void Editor::drop_graphs() {
    m_main->graphs.clear();
    if (m_base) m_base->graphs.clear();
    on_followers([](Editor& e) { e.drop_graphs(); });
}

std::string Editor::graph_summary() const {
    GraphCache::Stats sum = m_main->graphs.stats();
    if (m_base) {
        const auto& b = m_base->graphs.stats();
        sum.eager += b.eager;
        sum.captures += b.captures;
        sum.replays += b.replays;
        sum.failures += b.failures;
    }
    return graph_stats_line(sum, m_main->graphs.usable(m_settings.device));
}

int64_t Editor::source_frames_per_block() const {
    return m_fpb * (m_ae ? m_ae->temporal_ratio() : 1);
}

void Editor::set_params(const EditParams& params) {
    const std::string why = params.validate();
    LIPAR_CHECK(why.empty(), StatusCode::InvalidArgument, why);
    m_pending = params;
    m_params_dirty = true;
    on_followers([&](Editor& e) { e.set_params(params); });
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
        reset_streams();
        m_planner->reset();
    }
    m_planner->set_config(detector_config(m_active));
    if (m_active.mode == EditMode::Compare && !m_base) {
        const auto options =
            torch::TensorOptions().device(m_settings.device).dtype(m_settings.dtype);
        m_base = std::make_unique<StreamState>(m_dit->config(), *m_settings.window, options, m_settings.cuda_graphs);
        m_base->cache.place_layers(m_dit->block_devices());
    }
    if (m_active.mode == EditMode::Compare && old.mode != EditMode::Compare) {
        // The baseline's decoder starts a stream here (its old state belongs to another span);
        // a latents-only editor (a token worker, parity runs) has none.
        if (m_ae) {
            if (!m_ae_base) m_ae_base = m_ae->new_stream();
            m_ae_base->reset_decoder();
        }
        m_output.start_baseline(m_latent_frame);
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

void Editor::choose_prompt() {
    if (m_follow_prompt) {
        // A token worker: worker 0's choice, waited for; a newer prompt starts encoding aside.
        if (m_active.prompt != *m_follow_prompt) m_cross->get(m_active.prompt, false, *m_follow_prompt);
        if (m_has_effective_prompt && *m_follow_prompt == m_effective_prompt) return;
        m_cross->get(*m_follow_prompt, true, m_effective_prompt);
        if (m_has_effective_prompt && m_active.reset_on_prompt_change) reset_streams();
        m_effective_prompt = *m_follow_prompt;
        m_has_effective_prompt = true;
        return;
    }
    const std::string& wanted = m_active.prompt;
    if (m_has_effective_prompt && wanted == m_effective_prompt) return;
    // Files wait for a new prompt (it applies exactly at this block); live streams go on with the
    // current prompt until the new one is ready. The first prompt is always waited for.
    const bool wait = !m_settings.async_prompts || !m_has_effective_prompt;
    if (m_cross->get(wanted, wait, m_effective_prompt) == nullptr) return;
    if (m_has_effective_prompt && m_active.reset_on_prompt_change) reset_streams();
    m_effective_prompt = wanted;
    m_has_effective_prompt = true;
}
std::vector<EditedFrame> Editor::push(const Frame& frame) {
    torch::NoGradGuard no_grad;
    LIPAR_CHECK(m_ae, StatusCode::InvalidArgument, "editor: built for latents only (no autoencoder)");
    LIPAR_CHECK(!frame.empty() && frame.rgb.size() >= frame.byte_size(), StatusCode::InvalidArgument,
                "editor: empty or truncated frame");
    Frame fitted = (frame.width == m_width && frame.height == m_height)
                       ? frame
                       : media::fit_frame(frame, m_width, m_height, media::FitMode::Crop);
    fitted.pts_s = frame.pts_s;
    Timer t;
    auto z = m_ae->encode_frames(frame_to_tensor(fitted, m_settings.device).unsqueeze(0));
    m_encode_ms += t.elapsed_ms(m_settings.device);
    m_output.add_input(std::move(fitted));
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
    if (m_output.inputs() > 0) {
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
    on_followers([](Editor& e) { e.reset(); });
    reset_streams();
    m_planner->reset();
    if (m_ae) m_ae->reset();
    if (m_ae_base) m_ae_base->reset();
    m_output.reset();
    m_latents.clear();
    m_latent_frame = 0;
    m_block = 0;
    m_report = BlockReport{};
    m_encode_ms = 0;
}

void Editor::balance_stages_by_measure() {
    if (!m_stages || m_stages_balanced) return;
    if (m_block == 1) {
        m_dit->drain_layers();
        m_stages->take_busy();  // the first block's figures carry the warm-up
        return;
    }
    if (m_block != 2) return;
    m_stages_balanced = true;
    m_dit->drain_layers();  // the second block's cache pass counted in full
    const auto busy = m_stages->take_busy();
    if (busy.passes == 0) return;
    const auto ranges = m_stages->ranges();
    std::vector<double> layer_cost;
    for (size_t s = 0; s < ranges.size(); ++s) {
        for (int64_t i = ranges[s].begin; i < ranges[s].end; ++i)
            layer_cost.push_back(busy.ms[s] / double(ranges[s].size()) / double(busy.passes));
    }
    // m_report still describes the second block. The editor's own work (encode, detection,
    // decode) runs while the later stages commit the block just done; then its first-stage share
    // of the next pass follows, and the later stages take that pass once the commit is through. A
    // block then costs (passes - 1) whole passes plus max(own + first stage, later stages): the
    // split that balances those two is the one that minimises the larger stage cost below with
    // the whole block's own work charged to the first stage (exact for two stages).
    const double own = m_report.encode_ms + m_report.detect_ms + m_report.decode_ms + m_report.baseline_decode_ms;
    const auto better = parallel::balance_stages(layer_cost, static_cast<int64_t>(ranges.size()), own);
    auto ms = [](double v) {
        char text[32];
        std::snprintf(text, sizeof(text), "%.1f", v);
        return std::string(text);
    };
    std::string measured;
    for (size_t s = 0; s < ranges.size(); ++s) measured += (s ? ", " : "") + ms(busy.ms[s] / double(busy.passes));
    LIPAR_LOG_INFO("pipeline: ms per pass by stage [", measured, "], the editor's own work ", ms(own),
                   " ms per block; blocks ", parallel::describe_stages(ranges),
                   better == ranges ? " kept" : " -> " + parallel::describe_stages(better));
    if (better != ranges) set_stage_ranges(better);
}

std::vector<parallel::LayerRange> Editor::stage_ranges() const {
    if (m_stages) return m_stages->ranges();
    return {parallel::LayerRange{0, m_dit->config().num_layers}};
}

void Editor::set_stage_ranges(const std::vector<parallel::LayerRange>& ranges) {
    LIPAR_CHECK(m_stages, StatusCode::InvalidArgument, "no pipeline stages to split (one stage)");
    m_stages->set_ranges(ranges);  // checks them; waits for a pass in flight
    if (!m_settings.stage_devices.empty()) place_blocks(stage_block_devices(ranges));
}

std::vector<torch::Device> Editor::stage_block_devices(const std::vector<parallel::LayerRange>& ranges) const {
    std::vector<torch::Device> devices;
    for (size_t s = 0; s < ranges.size(); ++s)
        for (int64_t i = ranges[s].begin; i < ranges[s].end; ++i) devices.push_back(m_settings.stage_devices[s]);
    return devices;
}

void Editor::place_blocks(const std::vector<torch::Device>& devices) {
    m_dit->drain_layers();
    m_dit->place_blocks(devices);
    for (auto* stream : {m_main.get(), m_base.get()}) {
        if (!stream) continue;
        stream->cache.place_layers(devices);
        stream->reference.place_layers(devices);
    }
    m_cross->place(devices);
}

torch::Tensor Editor::edit_latents(const torch::Tensor& latents_cfhw) {
    if (!m_followers) return edit_block_latents(latents_cfhw);
    // Every token worker edits the block with the prompt this one chooses for it (live, a new
    // one may still be encoding); they meet in each pass's gathers.
    torch::NoGradGuard no_grad;
    apply_pending_params();
    choose_prompt();
    m_followers->start_edit(latents_cfhw, m_effective_prompt);
    torch::Tensor x0;
    try {
        x0 = edit_block_latents(latents_cfhw);
    } catch (const Error& own) {
        // The others then fail too (a gather times out) or finish. When this worker only timed
        // out waiting for them, the failure of one of them is the cause.
        LIPAR_LOG_WARN("editor: token worker 0: ", own.what());
        m_followers->finish_edit_after_failure(own.code() == StatusCode::DeviceError);
        throw;
    } catch (...) {
        m_followers->finish_edit_after_failure(false);
        throw;
    }
    m_followers->finish_edit();
    return x0;
}

void Editor::edit_following(const torch::Tensor& z, const std::string& prompt) {
    m_follow_prompt = prompt;
    edit_block_latents(z);
}

torch::Tensor Editor::edit_block_latents(const torch::Tensor& latents_cfhw) {
    torch::NoGradGuard no_grad;
    balance_stages_by_measure();
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
    m_plan = m_planner->plan(z, mode, m_latent_frame, gh, gw,
                             m_settings.keep ? m_settings.keep(m_block) : torch::Tensor());
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

    const auto& cross = m_cross->at(m_effective_prompt);
    const auto ts = m_schedule.warp(step_list());
    t.reset();
    auto x0 = m_denoiser->denoise(*m_main, zb, m_plan, mode, cross, ts, m_active.seed, m_block,
                                  m_settings.on_flow);
    m_report.denoise_ms = t.elapsed_ms(dev);
    m_x0_base = torch::Tensor();
    if (m_active.mode == EditMode::Compare) {
        t.reset();
        auto dense = accel::PrunePlan::dense(f, gh, gw, m_latent_frame, cfg.head_dim(), dev);
        m_x0_base = m_denoiser->denoise(*m_base, zb, dense, accel::PruneMode::Off, cross, ts,
                                        m_active.seed, m_block);
        m_report.baseline_denoise_ms = t.elapsed_ms(dev);
    }
    if (mode != accel::PruneMode::Off) m_planner->commit(m_plan);
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
    const accel::PruneMode mode = side_mode(m_active);
    m_output.add_masks(m_plan);
    Timer t;
    auto frames = m_ae->decode_latents(x0.squeeze(0).permute({1, 0, 2, 3}));
    m_report.decode_ms = t.elapsed_ms(dev);
    torch::Tensor base_frames;
    if (m_x0_base.defined()) {
        t.reset();
        base_frames = m_ae_base->decode_latents(m_x0_base.squeeze(0).permute({1, 0, 2, 3}));
        m_report.baseline_decode_ms = t.elapsed_ms(dev);
    }
    // Output k of the decoded stream stands for source frame k + trim (TAEHV withholds its first
    // frames); its latent frame is (k + trim) / temporal_ratio.
    auto out = m_output.assemble(frames, base_frames, m_ae->decoder_frames_to_trim(),
                                 m_ae->temporal_ratio(), m_active.mode,
                                 mode != accel::PruneMode::Off, final_block);
    m_report.output_frames = static_cast<int64_t>(out.size());
    return out;
}

}  // namespace lipar::pipeline
