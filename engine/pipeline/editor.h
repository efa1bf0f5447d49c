#pragma once
// The streaming video-to-video editor (one per engine; engine thread only):
//
//   frames -> autoencoder encode -> per block of latent frames:
//     LIPAR detection on the clean source latents -> SDEdit noise to the start level ->
//     few-step denoising with the causal DiT (pruned per mode) -> restoration ->
//     t = 0 pass that commits clean K/V -> decode -> frames
//
// Compare mode runs the dense baseline and LIPAR side by side on the same blocks with the same
// noise, each with its own KV cache, clean reference and decoder state, and times each side.
// Parameters are snapshotted at block boundaries; a prompt change swaps the cross-attention cache
// only (unless reset_on_prompt_change). Deterministic for a given seed.
//
// The editor orchestrates; each step has a room of its own: BlockPlanner (detection, shape
// bucket, prune plan), BlockDenoiser (the denoising loop on a StreamState: KV cache, clean
// reference), NoiseSource, CrossAttnStore (prompt K/V), OutputAssembler (decoded frames paired
// with their source frames, masks and the baseline's frames), frame_tensor (frame conversions).

#include <torch/torch.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lipar/frame.h"
#include "lipar/params.h"
#include "lipar/prune_plan.h"
#include "model/dit/kv_cache.h"
#include "model/dit/wan_dit.h"
#include "model/vae/autoencoder.h"
#include "parallel/stage_pipeline.h"
#include "pipeline/async_prompt_encoder.h"
#include "pipeline/block_denoiser.h"
#include "pipeline/block_planner.h"
#include "pipeline/cross_attn_store.h"
#include "pipeline/edited_frame.h"
#include "pipeline/flow_schedule.h"
#include "pipeline/model_pack.h"
#include "pipeline/output_assembler.h"
#include "pipeline/prompt_conditioner.h"
#include "pipeline/token_followers.h"

namespace lipar::pipeline {

// The pack's trained attention window, or the paper's m = [1, 6] when the pack does not say.
model::AttentionWindow pack_attention_window(const ModelPack& pack);

struct EditorSettings {
    int width = 0;   // model resolution; 0 = the pack's
    int height = 0;
    int64_t frames_per_block = 0;  // latent frames per block; 0 = the pack's
    // Attention window in the paper's terms (recent includes the current block); unset = the
    // pack's trained window (pack_attention_window()).
    std::optional<model::AttentionWindow> attention;
    // Parity runs: the cache's window in committed frames, used as it is (overrides attention).
    std::optional<model::KvWindow> window;
    bool keep_latents = false;  // copy each block's final x0 to BlockReport::x0 (benchmarks)
    // Kept tokens per block rounded up to a multiple of this (accel::round_kept_to_bucket);
    // -1 = accel::default_kept_bucket(device), 0 or 1 = exact counts.
    int64_t kept_bucket = -1;
    // CUDA graphs of the denoising passes (CUDA only; the same results, less host time).
    bool cuda_graphs = true;
    // A bfloat16 residual stream in a bf16 DiT (model::WanDitImpl::set_bf16_residual): Self-Forcing's
    // own inference numerics instead of the reference's float32 stream.
    bool bf16_residual = false;
    torch::Device device{torch::kCPU};
    torch::Dtype dtype = torch::kFloat32;
    // Pipeline stages (issue 16, parallel/stage_pipeline.h): the DiT's blocks split over this many
    // workers; 1 = all on the calling thread. CPU only for now; turns CUDA graphs off.
    int64_t pipeline_stages = 1;
    // Several devices (issue 16): block i of the DiT on block_devices[i] (its KV-cache layers,
    // clean reference and prompt K/V with it); the rest of the model on `device`. Empty:
    // everything on `device`.
    std::vector<torch::Device> block_devices;
    // Or per pipeline stage: stage k's blocks on stage_devices[k] (one per stage), following the
    // stages when they are re-split. Not together with block_devices.
    std::vector<torch::Device> stage_devices;
    // Token workers (issue 16, parallel/token_group.h): this many replicas of the editor, one per
    // worker thread, share every DiT pass by tokens (the editor itself is worker 0 and drives the
    // others, which switch prompts at the block it does); 1 = none. CPU only for now.
    int64_t token_workers = 1;
    // Set by worker 0 for the others (their own group connection).
    std::shared_ptr<model::TokenGroup> token_group;
    // Pipeline stages and token workers: how long any hand-over or gather waits for the other
    // workers before the pass fails with Error(DeviceError).
    std::chrono::milliseconds worker_timeout{60000};
    std::string prompt_cache_dir;
    bool prompt_cache_on_disk = true;  // off for token workers 1.. (worker 0 writes the files)
    // Live use: a new prompt is encoded on a thread of its own while the stream goes on with the
    // previous one; the swap happens at the first block boundary after it is ready. Off (files,
    // benchmarks): a new prompt applies exactly at the next block, which waits for it.
    bool async_prompts = false;
    // Tests: the prompt conditioner to use instead of the pack's.
    std::function<std::unique_ptr<PromptConditioner>()> make_conditioner;
    // Parity runs (`lipar tensor edit-loop`): only edit_latents() is used, so no autoencoder is
    // loaded (the pack's autoencoder fields may be empty).
    bool latents_only = false;
    // Parity runs: the noise of step `step` of block `block` (step 0 noises the source latents,
    // step i > 0 re-noises before pass i), shape `sizes`, instead of the seeded CPU generator.
    std::function<torch::Tensor(int64_t block, int64_t step, c10::IntArrayRef sizes)> noise;
    // Parity runs: the keep mask [f, h, w] of block `block` instead of LIPAR's detection
    // (undefined: detect as usual).
    std::function<torch::Tensor(int64_t block)> keep;
    // Parity runs: called with each denoising pass's flow [1, C, f, h, w].
    std::function<void(int64_t block, int64_t pass, const torch::Tensor& flow)> on_flow;
};

struct BlockReport {
    int64_t block = -1;
    int64_t latent_frames = 0;
    int64_t output_frames = 0;
    double encode_ms = 0, detect_ms = 0, denoise_ms = 0, decode_ms = 0;
    double baseline_denoise_ms = 0;  // compare mode: the dense side's DiT time
    double baseline_decode_ms = 0;
    double kept_ratio = 1.0;
    std::vector<double> kept_ratio_per_frame;
    // Motion compensation: the camera's mean motion over the block in video pixels per video
    // frame (content moves right / down for positive values); 0 when off.
    double motion_x = 0, motion_y = 0;
    torch::Tensor x0;    // [C, f, h, w] float32 on the CPU when EditorSettings::keep_latents
    torch::Tensor keep;  // [f, h/2, w/2] bool on the CPU, likewise
};

// Sums of block reports, for summaries and benchmarks.
struct ReportTotals {
    int64_t blocks = 0;
    double encode_ms = 0, detect_ms = 0, denoise_ms = 0, decode_ms = 0;
    double baseline_denoise_ms = 0, baseline_decode_ms = 0;
    double kept_sum = 0;
    void add(const BlockReport& r) {
        encode_ms += r.encode_ms;
        detect_ms += r.detect_ms;
        denoise_ms += r.denoise_ms;
        decode_ms += r.decode_ms;
        baseline_denoise_ms += r.baseline_denoise_ms;
        baseline_decode_ms += r.baseline_decode_ms;
        kept_sum += r.kept_ratio;
        ++blocks;
    }
    double mean_kept_ratio() const { return blocks ? kept_sum / static_cast<double>(blocks) : 1.0; }
};

class Editor {
public:
    // Loads every component of the pack onto settings.device (throws lipar::Error).
    Editor(const ModelPack& pack, const EditorSettings& settings);
    ~Editor();

    void set_params(const EditParams& params);  // validated; applied at the next block
    const EditParams& params() const { return m_pending; }

    // Feeds one source frame (any size; fitted to the model resolution by centre crop) and
    // returns the outputs that became ready (zero or more, in order).
    std::vector<EditedFrame> push(const Frame& frame);
    // End of stream: pads the last block and returns the remaining outputs; then reset().
    std::vector<EditedFrame> flush();
    // Discontinuity (seek, source change): forget every cache and the pending frames.
    void reset();
    // The latent part of a block, without the autoencoder: detection, denoising, restoration and
    // the cache pass on clean latents z [C, f, h, w] (the stream's next block). Returns the final
    // x0 [1, C, f, h, w] (float32); the report is filled except encode/decode.
    torch::Tensor edit_latents(const torch::Tensor& z);

    const ModelPack& pack() const { return m_pack; }
    int width() const { return m_width; }
    int height() const { return m_height; }
    int64_t frames_per_block() const { return m_fpb; }
    // What the KV cache keeps, in committed frames (from the attention window).
    const model::KvWindow& kv_window() const { return *m_settings.window; }
    // Source frames per block (latent frames x the autoencoder's temporal ratio).
    int64_t source_frames_per_block() const;
    const BlockReport& last_report() const { return m_report; }
    // The warped denoising steps the active parameters give (the pack's when strength and steps
    // are 0).
    std::vector<double> step_list() const;
    const model::DitConfig& dit_config() const;
    std::string device_name() const;
    // Where the prompt embeddings came from so far (text encoder runs, cache hits).
    std::string text_summary() const;
    // The CUDA graphs of the denoising passes so far (both streams in compare mode), as
    // graph_stats_line() words: "off" without CUDA or with EditorSettings::cuda_graphs false.
    std::string graph_summary() const;
    // Drops every CUDA graph (their memory pools go back to the allocator); they are captured
    // again as passes repeat. The engine calls it when the device ran out of memory.
    void drop_graphs();
    // The prompt the last block was edited with (a new one may still be encoding).
    const std::string& effective_prompt() const { return m_effective_prompt; }
    // "" when no prompt is being encoded, else what the text path is doing (thread-safe).
    std::string prompt_status() const;
    // Live (true): new prompts are encoded aside (EditorSettings::async_prompts). May change
    // between blocks.
    void set_async_prompts(bool async) { m_settings.async_prompts = async; }
    // Blocks until the prompt being encoded (if any) is ready; the next block then uses it.
    void wait_for_prompts();
    // Pipeline stages (EditorSettings::pipeline_stages): the DiT blocks each stage runs (one range
    // without stages). set_stage_ranges re-splits them between blocks, as the editor does once by
    // measured time; with EditorSettings::stage_devices the blocks that change stage move to their
    // new stage's device with their KV-cache layers, clean reference and prompt K/V.
    std::vector<parallel::LayerRange> stage_ranges() const;
    void set_stage_ranges(const std::vector<parallel::LayerRange>& ranges);
    // The device of each DiT block.
    std::vector<torch::Device> block_devices() const { return m_dit->block_devices(); }

private:
    void apply_pending_params();
    // Forgets both streams' caches, once a committing pass still in flight on later pipeline
    // stages is done (its failure only logged: the stream it belonged to is being forgotten).
    void reset_streams();
    // At the stream's third block: the stages re-split by the time their blocks took during the
    // second one, the first stage (the editor's own thread) charged with the block's encode,
    // detection and decode besides (editor.cpp says why).
    void balance_stages_by_measure();
    torch::Tensor edit_block_latents(const torch::Tensor& z);  // edit_latents on this worker alone
    // Token worker 1..: the block edited with the prompt worker 0 chose for it (a newer one is
    // encoded aside meanwhile, so that it is ready when worker 0 switches). TokenFollowers only.
    friend class TokenFollowers;
    void edit_following(const torch::Tensor& z, const std::string& prompt);
    std::optional<std::string> m_follow_prompt;
    // On the other token workers (if any): `call` replayed, waited for.
    void on_followers(const std::function<void(Editor&)>& call) {
        if (m_followers) m_followers->replay(call);
    }
    // Every block, and its KV-cache layers, clean references and prompt K/V, on devices[i].
    void place_blocks(const std::vector<torch::Device>& devices);
    // EditorSettings::stage_devices spread over the blocks of `ranges`.
    std::vector<torch::Device> stage_block_devices(const std::vector<parallel::LayerRange>& ranges) const;
    std::vector<EditedFrame> process_block(const torch::Tensor& latents, bool final_block);
    accel::PrunePlan m_plan;        // of the block being processed
    torch::Tensor m_x0_base;        // compare mode: the baseline's x0 of that block
    // Picks the prompt of the next block: the requested one when ready, else the current one.
    void choose_prompt();

    ModelPack m_pack;
    EditorSettings m_settings;
    int m_width = 0, m_height = 0;
    int64_t m_fpb = 0;
    model::WanDit m_dit{nullptr};
    // --gpus N: the DiT's runner (null for one stage), re-split once by measured time.
    std::shared_ptr<parallel::StagePipeline> m_stages;
    bool m_stages_balanced = false;
    // --split tokens: the other token workers (worker 0 only).
    std::unique_ptr<TokenFollowers> m_followers;
    std::unique_ptr<model::VideoAutoencoder> m_ae;        // encoder + main decoder stream
    // Compare mode: the baseline's decoder stream, started when compare mode starts (possibly
    // mid-stream; OutputAssembler pairs its frames).
    std::unique_ptr<model::VideoAutoencoder> m_ae_base;
    std::unique_ptr<AsyncPromptEncoder> m_text;
    std::string m_effective_prompt;
    bool m_has_effective_prompt = false;
    FlowSchedule m_schedule;
    std::unique_ptr<CrossAttnStore> m_cross;
    std::unique_ptr<BlockPlanner> m_planner;
    std::unique_ptr<BlockDenoiser> m_denoiser;
    std::unique_ptr<StreamState> m_main, m_base;  // compare mode: m_base is the baseline's
    OutputAssembler m_output;

    EditParams m_pending, m_active;
    bool m_params_dirty = true;
    std::vector<torch::Tensor> m_latents;  // encoded, not yet processed latent frames
    int64_t m_block = 0;
    int64_t m_latent_frame = 0;            // absolute latent frame of the next block
    BlockReport m_report;
    double m_encode_ms = 0;  // encoder time since the last block started
};

}  // namespace lipar::pipeline
