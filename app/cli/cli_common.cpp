#include "cli_common.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "core/device.h"
#include "core/error.h"

namespace lipar::cli {

namespace fs = std::filesystem;

std::string resolve_pack_dir(const Args& args) {
    if (args.has("pack")) return args.get("pack");
    if (const char* env = std::getenv("LIPAR_PACK"); env && *env) return env;
    // An installed program uses the pack installed beside it (<prefix>/bin/lipar ->
    // <prefix>/share/lipar-studio/packs/default); a build tree's program, the build's.
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    const auto beside = exe.parent_path().parent_path() / "share/lipar-studio/packs/default";
    if (!ec && fs::exists(beside / "manifest.json")) return beside.string();
    for (const char* dir : {LIPAR_DEFAULT_PACK_DIR, LIPAR_INSTALL_PACK_DIR}) {
        if (fs::exists(fs::path(dir) / "manifest.json")) return dir;
    }
    fail(StatusCode::NotFound,
         "no model pack: pass --pack DIR, set LIPAR_PACK, or create one with "
         "`lipar pack init-random --config tiny --out ",
         LIPAR_DEFAULT_PACK_DIR, "`");
}

void declare_engine_options(Args& args) {
    args.option("pack", "model pack directory (default $LIPAR_PACK or the build's default pack)")
        .option("device", "cpu, cuda, cuda:N or auto", "auto")
        .option("dtype", "f32, bf16, f16 or auto (bf16 on CUDA, f32 on CPU)", "auto")
        .option("size", "model resolution WxH, multiples of 16 (default: the pack's)")
        .option("kept-bucket", "round the kept tokens of a block up to a multiple of this "
                               "(-1: 128 on CUDA, exact on the CPU; 0: exact)", "-1")
        .option("cuda-graphs", "on or off: replay each denoising pass as a CUDA graph (CUDA only; "
                               "the same results with less host time)", "on")
        .option("residual", "the DiT's residual stream: f32 (the reference's numerics) or bf16 "
                            "(Self-Forcing's bf16 inference; with --dtype bf16 only)", "f32")
        .option("window", "attention window S,R in the paper's terms: S sink latent frames + the R "
                          "most recent, the current block's included (default: the pack's, else 1,6)")
        .option("gpus", "workers sharing the DiT through c10d (on the CPU: N Gloo workers; several GPUs "
                        "are not built yet), split as --split says; lipar bench: a list such as 1,2,4 "
                        "compares them", "1")
        .option("split", "how --gpus workers share the DiT: layers (pipeline stages, the blocks split "
                         "over them; a causal stream bounds their gain) or tokens (each worker a replica "
                         "computing its share of every pass's tokens, keys and values gathered per layer)",
                "layers");
}

bool split_by_tokens(const Args& args) {
    const std::string split = args.get("split");
    LIPAR_CHECK(split == "layers" || split == "tokens", StatusCode::InvalidArgument,
                "--split must be layers or tokens, got '", split, "'");
    return split == "tokens";
}

void set_workers(pipeline::EditorSettings& s, int64_t workers, const Args& args) {
    const bool tokens = split_by_tokens(args);
    s.pipeline_stages = tokens ? 1 : workers;
    s.token_workers = tokens ? workers : 1;
}

std::vector<int64_t> pipeline_stage_counts(const Args& args) {
    const std::string text = args.get("gpus");
    std::vector<int64_t> counts;
    for (const double v : number_list(text, "--gpus")) {
        const auto n = static_cast<int64_t>(v);
        LIPAR_CHECK(double(n) == v && n >= 1 && n <= 16, StatusCode::InvalidArgument,
                    "--gpus must be a count 1..16 (or, for lipar bench, a list such as 1,2,4), got '", text, "'");
        LIPAR_CHECK(std::find(counts.begin(), counts.end(), n) == counts.end(), StatusCode::InvalidArgument,
                    "--gpus lists ", n, " twice");
        counts.push_back(n);
    }
    LIPAR_CHECK(!counts.empty(), StatusCode::InvalidArgument, "--gpus needs a count 1..16");
    return counts;
}

int64_t pipeline_stages(const Args& args) {
    const auto counts = pipeline_stage_counts(args);
    LIPAR_CHECK(counts.size() == 1, StatusCode::InvalidArgument,
                "--gpus takes one count here (lipar bench without --live compares several: --gpus 1,2,4)");
    return counts.front();
}

std::optional<model::AttentionWindow> attention_window(const Args& args) {
    if (!args.has("window")) return std::nullopt;
    const std::string text = args.get("window");
    model::AttentionWindow w;
    char tail = 0;
    long long sink = -1, recent = -1;
    LIPAR_CHECK(std::sscanf(text.c_str(), "%lld,%lld%c", &sink, &recent, &tail) == 2 && sink >= 0 &&
                    recent > 0,
                StatusCode::InvalidArgument, "--window '", text,
                "' must be S,R: sink frames >= 0, recent frames > 0 (e.g. 1,6)");
    w.sink = sink;
    w.recent = recent;
    return w;
}

bool bf16_residual(const Args& args, torch::Dtype dtype) {
    const std::string residual = args.get("residual");
    LIPAR_CHECK(residual == "f32" || residual == "bf16", StatusCode::InvalidArgument,
                "--residual must be f32 or bf16, got '", residual, "'");
    LIPAR_CHECK(residual == "f32" || dtype == torch::kBFloat16, StatusCode::InvalidArgument,
                "--residual bf16 needs --dtype bf16 (the model runs in ", dtype_name(dtype), ")");
    return residual == "bf16";
}

pipeline::EditorSettings editor_settings(const Args& args) {
    pipeline::EditorSettings s;
    s.device = parse_device(args.get("device"));
    s.dtype = parse_dtype(args.get("dtype"), s.device);
    if (!s.device.is_cuda()) use_all_cpu_threads();
    s.kept_bucket = args.get_int("kept-bucket");
    const std::string graphs = args.get("cuda-graphs");
    LIPAR_CHECK(graphs == "on" || graphs == "off", StatusCode::InvalidArgument,
                "--cuda-graphs must be on or off, got '", graphs, "'");
    s.cuda_graphs = graphs == "on";
    s.bf16_residual = bf16_residual(args, s.dtype);
    s.attention = attention_window(args);
    set_workers(s, pipeline_stage_counts(args).front(), args);  // lipar bench may compare several
    LIPAR_CHECK(s.kept_bucket >= -1, StatusCode::InvalidArgument, "--kept-bucket must be >= 0 (or -1)");
    if (args.has("size")) {
        const auto [w, h] = args.get_size("size");
        LIPAR_CHECK(w % 16 == 0 && h % 16 == 0, StatusCode::InvalidArgument, "--size ", w, "x", h,
                    " must be a multiple of 16 in both directions");
        s.width = static_cast<int>(w);
        s.height = static_cast<int>(h);
    }
    return s;
}

void declare_edit_options(Args& args) {
    args.option("prompt", "the edit to apply", "")
        .option("mode", "off, naive, lipar or compare", "lipar")
        .option("tau1", "short-term duplicate threshold", "0.15")
        .option("tau2", "long-term threshold", "0.3")
        .option("strength", "SDEdit strength: first denoising step / 1000 (0 = the pack's)", "0")
        .option("steps", "denoising steps (0 = the pack's)", "0")
        .option("seed", "noise seed", "0")
        .option("min-keep", "minimum fraction of tokens kept in a frame that keeps any", "0")
        .option("motion", "motion-compensated duplicate detection: off, global (camera pans) or local (per-tile motion)", "off")
        .option("detection", "detection's temporal filters: lookahead (one latent frame ahead inside "
                             "the block), causal, or authors-stream (the LIPAR authors' streaming "
                             "code, for comparison)", "lookahead")
        .flag("no-recovery", "lipar mode without attention recovery (= naive)");
}

EditParams edit_params(const Args& args) {
    EditParams p;
    p.prompt = args.get("prompt");
    p.mode = parse_edit_mode(args.get("mode"));
    LIPAR_CHECK(p.mode != EditMode::Invalid, StatusCode::InvalidArgument, "--mode '",
                args.get("mode"), "' is not one of off, naive, lipar, compare");
    p.tau1 = args.get_double("tau1");
    p.tau2 = args.get_double("tau2");
    p.strength = args.get_double("strength");
    p.steps = static_cast<int>(args.get_int("steps"));
    p.seed = static_cast<uint64_t>(args.get_int("seed"));
    p.min_keep_ratio = args.get_double("min-keep");
    p.attention_recovery = !args.flag_set("no-recovery");
    p.motion = parse_motion_compensation(args.get("motion"));
    LIPAR_CHECK(p.motion != MotionCompensation::Invalid, StatusCode::InvalidArgument, "--motion '",
                args.get("motion"), "' is not one of off, global, local");
    p.detection = parse_detection_filters(args.get("detection"));
    LIPAR_CHECK(p.detection != DetectionFilters::Invalid, StatusCode::InvalidArgument, "--detection '",
                args.get("detection"), "' is not one of lookahead, causal, authors-stream");
    const std::string why = p.validate();
    LIPAR_CHECK(why.empty(), StatusCode::InvalidArgument, why);
    return p;
}

Progress::Progress(std::string what, int64_t total)
    : m_what(std::move(what)), m_total(total), m_tty(isatty(2) != 0) {}

void Progress::update(int64_t done, const std::string& detail) {
    if (m_tty) {
        const int width = 30;
        const int filled = m_total > 0 ? static_cast<int>(width * std::min(done, m_total) / m_total) : 0;
        std::fprintf(stderr, "\r%s [%s%s] %lld%s  %s   ", m_what.c_str(),
                     std::string(static_cast<size_t>(filled), '#').c_str(),
                     std::string(static_cast<size_t>(width - filled), '.').c_str(),
                     static_cast<long long>(done),
                     m_total > 0 ? ("/" + std::to_string(m_total)).c_str() : "", detail.c_str());
        std::fflush(stderr);
        return;
    }
    const int decile = m_total > 0 ? static_cast<int>(10 * done / m_total) : 0;
    if (decile != m_last_decile) {
        m_last_decile = decile;
        std::fprintf(stderr, "%s %lld/%lld %s\n", m_what.c_str(), static_cast<long long>(done),
                     static_cast<long long>(m_total), detail.c_str());
    }
}

void Progress::finish() {
    if (m_tty) std::fprintf(stderr, "\n");
}

}  // namespace lipar::cli
