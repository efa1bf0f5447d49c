#pragma once
// Pieces shared by the editing commands: pack and device choice, progress display.

#include <optional>
#include <string>

#include "args.h"
#include "pipeline/editor.h"

namespace lipar::cli {

// --pack, else $LIPAR_PACK, else the build's default pack, else the installed one.
std::string resolve_pack_dir(const Args& args);
// Declares --pack --device --dtype --size on a command.
void declare_engine_options(Args& args);
pipeline::EditorSettings editor_settings(const Args& args);
// --window S,R (the paper's terms: S sink frames + the R most recent latent frames, the current
// block's included); nullopt when not given.
std::optional<model::AttentionWindow> attention_window(const Args& args);
// --gpus: pipeline stages, 1..16.
int64_t pipeline_stages(const Args& args);
// --gpus as a list (lipar bench: 1,2,4); each 1..16, none twice.
std::vector<int64_t> pipeline_stage_counts(const Args& args);
// --split: true for tokens, false for layers (anything else refused).
bool split_by_tokens(const Args& args);
// `workers` pipeline stages or token workers, as --split says.
void set_workers(pipeline::EditorSettings& s, int64_t workers, const Args& args);
// --residual f32|bf16 for a model computing in `dtype`: true for the bf16 residual stream
// (which needs a bf16 model); a clear error otherwise.
bool bf16_residual(const Args& args, torch::Dtype dtype);
// Declares and reads the editing parameters (--prompt --mode --tau1 --tau2 --strength --steps
// --seed --min-keep --no-recovery).
void declare_edit_options(Args& args);
EditParams edit_params(const Args& args);

// One-line progress on stderr: redrawn in place on a terminal, every 10% otherwise.
class Progress {
public:
    Progress(std::string what, int64_t total);
    void update(int64_t done, const std::string& detail);
    void finish();

private:
    std::string m_what;
    int64_t m_total;
    bool m_tty;
    int m_last_decile = -1;
};

}  // namespace lipar::cli
