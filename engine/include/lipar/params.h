#pragma once
// User-facing settings of the engine. No Torch types: the GUI includes this.
// One table (options.h) maps every field to a CLI flag and a QSettings key.

#include <cstdint>
#include <string>

namespace lipar {

enum class EditMode {
    Invalid = 0,
    Off,      // baseline: every token computed
    Naive,    // pruning without attention recovery
    Lipar,    // pruning + restoration + attention recovery
    Compare,  // Off and Lipar side by side on the same input (separate caches and timing)
};

const char* edit_mode_name(EditMode mode);
// "off" | "naive" | "lipar" | "compare"; EditMode::Invalid otherwise.
EditMode parse_edit_mode(const std::string& name);

// Motion compensation of duplicate detection (docs/LIPAR_DETECTION.md, "Motion compensation").
enum class MotionCompensation {
    Invalid = 0,
    Off,     // co-located comparison, as in the paper
    Global,  // one camera translation per latent frame, estimated on the source latents
    Local,   // one whole-token translation per tile (4x4 tokens) of each latent frame: objects
             // moving on their own, parallax
};
const char* motion_compensation_name(MotionCompensation motion);
// "off" | "global" | "local"; MotionCompensation::Invalid otherwise.
MotionCompensation parse_motion_compensation(const std::string& name);

// The temporal filters of duplicate detection (docs/LIPAR_DETECTION.md, "Temporal filters"). The
// default reads one latent frame ahead inside the block, whose frames arrive together (the
// block's last frame is replicated ahead), and carries the filters' history across blocks; the
// strictly causal filters lag a change by one frame and lose about 1.5 dB at the same kept
// ratio; the authors' streaming code restarts its filters at every block and skips the long-term
// check (kept to measure the difference).
enum class DetectionFilters {
    Invalid = 0,
    LookAhead,      // the default
    Causal,         // every filter reads frames up to the current one only
    AuthorsStream,  // the authors' streaming code's filters
};
const char* detection_filters_name(DetectionFilters filters);
// "lookahead" | "causal" | "authors-stream"; DetectionFilters::Invalid otherwise.
DetectionFilters parse_detection_filters(const std::string& name);

// Editing parameters; the engine snapshots them at block boundaries.
struct EditParams {
    std::string prompt;
    EditMode mode = EditMode::Lipar;
    double tau1 = 0.15;               // short-term duplicate threshold (normalised latent units)
    double tau2 = 0.3;                // long-term threshold against the clean reference
    bool attention_recovery = true;   // Lipar without recovery behaves as Naive
    // SDEdit start: first warped step = strength * 1000; 0 = the pack's schedule.
    double strength = 0.0;
    int steps = 0;                    // denoising steps from the start level down; 0 = the pack's
    uint64_t seed = 0;
    double min_keep_ratio = 0.0;      // 0 = off
    MotionCompensation motion = MotionCompensation::Off;
    DetectionFilters detection = DetectionFilters::LookAhead;
    bool reset_on_prompt_change = false;  // default: keep the KV cache, swap cross-attention only

    // Empty when valid, else a one-line reason naming the field.
    std::string validate() const;
};

// How the engine runs; fixed for the lifetime of a started engine.
struct EngineConfig {
    std::string pack;              // model pack directory (manifest.json)
    std::string device = "auto";   // cpu | cuda | cuda:N | auto
    std::string dtype = "auto";    // f32 | bf16 | f16 | auto (bf16 on CUDA, f32 on CPU)
    int width = 0;                 // model resolution; 0 = the pack's default
    int height = 0;
    int latent_frames_per_block = 0;  // 0 = the pack's default
    // Attention window in latent frames, in the paper's terms (m = [sink, recent]): the sink
    // frames plus the `recent` most recent frames, the current block's included (so recent must
    // exceed the frames per block); -1 = the pack's trained window (else the paper's [1, 6]).
    int kv_sink = -1;
    int kv_recent = -1;
    // Kept tokens per block rounded up to a multiple of this, so the pruned forward sees few
    // shapes; -1 = 128 on CUDA and exact on the CPU; 0 = exact counts.
    int kept_bucket = -1;
    // Workers sharing the DiT (issue 16; CPU workers over c10d/Gloo for now, several GPUs are not
    // built yet); 1 = none. split_tokens false: pipeline stages (the blocks split over them);
    // true: token workers (each a replica computing its share of every pass's tokens).
    int gpus = 1;
    bool split_tokens = false;
    std::string prompt_cache_dir;  // empty = default (~/.cache/lipar-studio/prompts)

    std::string validate() const;
};

}  // namespace lipar
