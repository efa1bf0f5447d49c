// `lipar bench IN [--pack DIR] [--frames N] [--size WxH] [--device] [--json]`: the same clip through
// the editor in off, naive and lipar modes (fresh stream each), timed end to end, with fidelity of
// naive and lipar to off (PSNR of decoded frames, relative error of the final latents).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "args.h"
#include "bench_live.h"
#include "bench_trace.h"
#include "cli_common.h"
#include "commands.h"
#include "core/device.h"
#include "core/error.h"
#include "core/gpu_memory.h"
#include "core/json.h"
#include "core/timer.h"
#include "io/checkpoint.h"
#include "media/convert.h"
#include "media/video_source.h"
#include "pipeline/editor.h"

namespace lipar::cli {

namespace {

struct ModeResult {
    EditMode mode = EditMode::Invalid;
    double wall_ms = 0;
    int64_t frames = 0;
    pipeline::ReportTotals totals;
    double peak_gb = 0;
    std::vector<Frame> outputs;
    std::vector<torch::Tensor> latents;
    std::vector<torch::Tensor> keeps;
    double psnr_db = 0;       // vs off
    double latent_rel = 0;    // vs off
    double kept_rel = 0;      // vs off, over the tokens this mode computed (attention effect only)
    // Every timed run of this mode (the first one's outputs are kept for the fidelity columns).
    std::vector<double> fps_runs, dit_runs;
    double run_fps() const { return wall_ms > 0 ? 1000.0 * frames / wall_ms : 0; }
    double run_dit_ms() const {
        return totals.blocks ? totals.denoise_ms / static_cast<double>(totals.blocks) : 0;
    }
    static double median(std::vector<double> v) {
        if (v.empty()) return 0;
        std::sort(v.begin(), v.end());
        const size_t n = v.size();
        return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    }
    double fps() const { return fps_runs.empty() ? run_fps() : median(fps_runs); }
    double dit_ms_per_block() const { return dit_runs.empty() ? run_dit_ms() : median(dit_runs); }
};

ModeResult run_mode(pipeline::Editor& editor, const std::vector<Frame>& frames, EditParams p,
                    EditMode mode, const torch::Device& device) {
    ModeResult r;
    r.mode = mode;
    p.mode = mode;
    editor.reset();
    editor.set_params(p);
    reset_peak_gpu_memory(device);
    int64_t last_block = -1;
    auto collect = [&](std::vector<pipeline::EditedFrame>& outs) {
        const auto& rep = editor.last_report();
        if (rep.block != last_block && rep.block >= 0) {
            last_block = rep.block;
            r.totals.add(rep);
            if (rep.x0.defined()) {
                r.latents.push_back(rep.x0);
                r.keeps.push_back(rep.keep);
            }
        }
        for (auto& o : outs) r.outputs.push_back(std::move(o.output));
    };
    synchronize(device);
    Timer t;
    for (const auto& f : frames) {
        auto outs = editor.push(f);
        collect(outs);
    }
    auto outs = editor.flush();
    collect(outs);
    r.wall_ms = t.elapsed_ms(device);
    r.frames = static_cast<int64_t>(r.outputs.size());
    r.peak_gb = gpu_memory_stats(device).peak_allocated_bytes / 1e9;
    return r;
}

// Latent-only run (no autoencoder): blocks of clean latents [C, F, h, w] through the editor.
ModeResult run_latents(pipeline::Editor& editor, const torch::Tensor& z, EditParams p,
                       EditMode mode, const torch::Device& device) {
    ModeResult r;
    r.mode = mode;
    p.mode = mode;
    editor.reset();
    editor.set_params(p);
    reset_peak_gpu_memory(device);
    synchronize(device);
    Timer t;
    const int64_t fpb = editor.frames_per_block();
    for (int64_t s = 0; s + fpb <= z.size(1); s += fpb) {
        editor.edit_latents(z.narrow(1, s, fpb));
        const auto& rep = editor.last_report();
        r.totals.add(rep);
        r.frames += fpb;
        r.latents.push_back(rep.x0);
        r.keeps.push_back(rep.keep);
    }
    r.wall_ms = t.elapsed_ms(device);
    r.peak_gb = gpu_memory_stats(device).peak_allocated_bytes / 1e9;
    return r;
}

// --gpus 1,2,4: one mode (--mode) edited with each stage count in one process, the runs
// interleaved: FPS, wall time per block and DiT time per block as medians of the runs, the ratios
// against the first count, and whether the outputs equal the first count's.
int bench_stage_counts(const Args& args, const std::vector<int64_t>& counts, const EditParams& params, int64_t runs) {
    LIPAR_CHECK(args.has("IN") && !args.has("latents") && !args.has("trace") && !args.flag_set("json"),
                StatusCode::InvalidArgument,
                "--gpus with several counts compares them on a video IN (without --latents, --trace or --json)");
    LIPAR_CHECK(params.mode != EditMode::Compare, StatusCode::InvalidArgument,
                "--gpus with several counts times one mode: off, naive or lipar");
    const auto pack = pipeline::ModelPack::load(resolve_pack_dir(args));
    const int64_t n = args.get_int("frames");
    LIPAR_CHECK(n > 0, StatusCode::InvalidArgument, "--frames must be > 0");
    const auto frames = media::read_video_frames(args.get("IN"), n);
    LIPAR_CHECK(!frames.empty(), StatusCode::FormatError, "'", args.get("IN"), "' has no frames");
    const auto base = editor_settings(args);
    const auto device = base.device;
    std::vector<std::unique_ptr<pipeline::Editor>> editors;
    for (const int64_t c : counts) {
        auto s = base;
        set_workers(s, c, args);
        editors.push_back(std::make_unique<pipeline::Editor>(pack, s));
    }
    const int64_t warm = args.get_int("warmup-blocks") * editors[0]->source_frames_per_block();
    const std::vector<Frame> head(frames.begin(), frames.begin() + std::clamp<int64_t>(warm, 0, frames.size()));
    for (auto& e : editors)
        if (!head.empty()) run_mode(*e, head, params, params.mode, device);
    std::vector<std::vector<ModeResult>> results(counts.size());
    for (int64_t run = 0; run < runs; ++run) {
        for (size_t i = 0; i < counts.size(); ++i) results[i].push_back(run_mode(*editors[i], frames, params, params.mode, device));
    }
    auto median_of = [](const std::vector<ModeResult>& rs, auto value) {
        std::vector<double> v;
        for (const auto& r : rs) v.push_back(value(r));
        return ModeResult::median(v);
    };
    auto fps = [](const ModeResult& r) { return r.run_fps(); };
    auto block_ms = [](const ModeResult& r) { return r.totals.blocks ? r.wall_ms / double(r.totals.blocks) : 0.0; };
    auto dit_ms = [](const ModeResult& r) { return r.run_dit_ms(); };
    std::printf("bench: %s, %zu frames at %dx%d, pack %s%s, %s, mode %s, split by %s; %lld runs per worker "
                "count, interleaved\n\n",
                args.get("IN").c_str(), frames.size(), editors[0]->width(), editors[0]->height(), pack.name.c_str(),
                pack.untrained ? " [UNTRAINED]" : "", device_description(device).c_str(), edit_mode_name(params.mode),
                args.get("split").c_str(), static_cast<long long>(runs));
    std::printf("%-6s %7s %8s %9s %8s %10s %7s  %s\n", "gpus", "FPS", "speedup", "ms/block", "latency",
                "DiT/block", "kept", "output");
    const double fps0 = median_of(results[0], fps), block0 = median_of(results[0], block_ms);
    for (size_t i = 0; i < counts.size(); ++i) {
        const auto& first = results[i][0];
        std::string output = i == 0 ? "(reference)" : "identical";
        if (i > 0) {
            const auto& ref = results[0][0].outputs;
            bool same = first.outputs.size() == ref.size();
            double psnr = 0;
            for (size_t k = 0; same && k < ref.size(); ++k) same = first.outputs[k].rgb == ref[k].rgb;
            if (!same) {
                const size_t m = std::min(first.outputs.size(), ref.size());
                // Over all frames at once (a mean of per-frame figures is infinite as soon as one
                // frame is identical).
                double mse = 0;
                for (size_t k = 0; k < m; ++k) {
                    const double p = media::psnr_db(first.outputs[k], ref[k]);
                    mse += std::isinf(p) ? 0.0 : 255.0 * 255.0 / std::pow(10.0, p / 10.0) / double(m);
                }
                psnr = mse > 0 ? 10.0 * std::log10(255.0 * 255.0 / mse) : 0.0;
                char text[80];
                std::snprintf(text, sizeof(text), "differs: %.2f dB PSNR against %lld%s", psnr,
                              static_cast<long long>(counts[0]), first.outputs.size() == ref.size() ? "" : " (frame counts differ)");
                output = text;
            }
        }
        const double f = median_of(results[i], fps), b = median_of(results[i], block_ms);
        std::printf("%-6lld %7.2f %7.2fx %7.1fms %7.2fx %8.1fms %6.1f%%  %s\n", static_cast<long long>(counts[i]), f,
                    fps0 > 0 ? f / fps0 : 0.0, b, block0 > 0 ? b / block0 : 0.0, median_of(results[i], dit_ms),
                    100.0 * first.totals.mean_kept_ratio(), output.c_str());
    }
    std::printf("(medians of the runs; FPS of each run:");
    for (size_t i = 0; i < counts.size(); ++i) {
        std::printf(" %lld:", static_cast<long long>(counts[i]));
        for (const auto& r : results[i]) std::printf(" %.2f", r.run_fps());
        std::printf(";");
    }
    std::printf(")\n(ms/block: wall time per block; latency: its ratio to the first count's; DiT/block: the "
                "editor's denoising time per block as the calling thread sees it)\n");
    return 0;
}

}  // namespace

int cmd_bench(const CommandArgs& argv) {
    Args args("bench", argv);
    args.positional("IN", "input video (any format FFmpeg reads, or .y4m)", false)
        .option("latents", "instead of a video: clean latents (.pth/.safetensors, [1,C,F,h,w] or "
                           "[C,F,h,w]) run through the DiT without the autoencoder")
        .option("frames", "source frames to use", "48")
        .option("warmup-blocks", "blocks run in every mode before timing (untimed)", "2")
        .option("runs", "timed runs of every mode, interleaved; FPS and DiT time are their medians",
                "3")
        .option("trace", "folder: one more run of each mode under LibTorch's profiler, saved as "
                         "<mode>.json (Perfetto, chrome://tracing), with GPU busy time and kernel "
                         "time by kind printed")
        .option("protocol", "same: every mode at the same attention window; paper: the dense "
                            "baseline at Self-Forcing's 21 frames (m = [1, 20]) and naive/lipar at "
                            "the window (default m = [1, 6]), as the LIPAR paper compares", "same")
        .flag("json", "print one JSON object per mode instead of a table")
        .flag("live", "the real engine behind the clip paced at its frame rate (as a camera): "
                      "output rate, drops and latency percentiles, off and lipar")
        .option("swap-prompt", "with --live: change to this prompt mid-stream and measure the output "
                               "rate around the change")
        .option("swap-after", "with --swap-prompt: seconds after the start", "4");
    declare_edit_options(args);
    declare_engine_options(args);
    if (!args.parse()) return 0;
    EditParams params = edit_params(args);
    const int64_t runs = args.get_int("runs");
    LIPAR_CHECK(runs >= 1 && runs <= 100, StatusCode::InvalidArgument, "--runs must be 1..100");
    if (args.flag_set("live")) {
        LIPAR_CHECK(args.has("IN"), StatusCode::InvalidArgument, "--live needs a video IN");
        EngineConfig config;
        config.pack = resolve_pack_dir(args);
        config.device = args.get("device");
        config.dtype = args.get("dtype");
        config.kept_bucket = static_cast<int>(args.get_int("kept-bucket"));
        config.gpus = static_cast<int>(pipeline_stages(args));
        config.split_tokens = split_by_tokens(args);
        if (const auto w = attention_window(args)) {
            config.kv_sink = static_cast<int>(w->sink);
            config.kv_recent = static_cast<int>(w->recent);
        }
        if (args.has("size")) {
            const auto [w, h] = args.get_size("size");
            config.width = static_cast<int>(w);
            config.height = static_cast<int>(h);
        }
        LiveSwap swap;
        if (args.has("swap-prompt")) {
            swap.prompt = args.get("swap-prompt");
            LIPAR_CHECK(!swap.prompt.empty() && swap.prompt != params.prompt, StatusCode::InvalidArgument,
                        "--swap-prompt must differ from --prompt");
            swap.after_s = args.get_double("swap-after");
            LIPAR_CHECK(swap.after_s > 0, StatusCode::InvalidArgument, "--swap-after must be > 0 seconds");
        }
        return bench_live(config, args.get("IN"), args.get_int("frames"), params, swap);
    }
    if (const auto counts = pipeline_stage_counts(args); counts.size() > 1)
        return bench_stage_counts(args, counts, params, runs);
    const auto settings_base = editor_settings(args);
    auto settings = settings_base;
    settings.keep_latents = true;
    const auto pack = pipeline::ModelPack::load(resolve_pack_dir(args));
    const std::string protocol = args.get("protocol");
    LIPAR_CHECK(protocol == "same" || protocol == "paper", StatusCode::InvalidArgument,
                "--protocol must be same or paper");
    pipeline::Editor editor(pack, settings);
    // The paper's protocol: the dense baseline in an editor of its own at the 21-frame window.
    std::unique_ptr<pipeline::Editor> paper_baseline;
    if (protocol == "paper") {
        auto s = settings;
        s.attention = model::AttentionWindow{1, 20};
        paper_baseline = std::make_unique<pipeline::Editor>(pack, s);
    }
    auto editor_for = [&](EditMode mode) -> pipeline::Editor& {
        return mode == EditMode::Off && paper_baseline ? *paper_baseline : editor;
    };
    const model::AttentionWindow window = settings.attention.value_or(pipeline::pack_attention_window(pack));
    const int64_t n = args.get_int("frames");
    LIPAR_CHECK(n > 0, StatusCode::InvalidArgument, "--frames must be > 0");
    LIPAR_CHECK(args.has("IN") != args.has("latents"), StatusCode::InvalidArgument,
                "give either a video IN or --latents FILE");
    const bool json = args.flag_set("json");
    std::vector<Frame> frames;
    torch::Tensor latents;
    std::string input = args.get("IN");
    if (args.has("latents")) {
        input = args.get("latents");
        auto map = io::load_checkpoint(input);
        LIPAR_CHECK(map.size() == 1, StatusCode::FormatError, "'", input,
                    "' must hold exactly one tensor, it holds ", map.size());
        latents = map.begin()->second.to(torch::kFloat32);
        if (latents.dim() == 5) latents = latents.squeeze(0);
        LIPAR_CHECK(latents.dim() == 4, StatusCode::ShapeMismatch, "latents must be [C, F, h, w]");
    } else {
        frames = media::read_video_frames(input, n);
        LIPAR_CHECK(!frames.empty(), StatusCode::FormatError, "'", input, "' has no frames");
    }
    if (!json) {
        std::printf("bench: %s, %zu frames at %dx%d, pack %s%s, %s, tau1 %.3g tau2 %.3g\n",
                    input.c_str(), latents.defined() ? size_t(latents.size(1)) : frames.size(),
                    latents.defined() ? int(latents.size(3) * 8) : editor.width(),
                    latents.defined() ? int(latents.size(2) * 8) : editor.height(),
                    pack.name.c_str(), pack.untrained ? " [UNTRAINED]" : "",
                    editor.device_name().c_str(), params.tau1, params.tau2);
        if (paper_baseline)
            std::printf("protocol: paper (off at m = [1, 20], naive and lipar at m = [%lld, %lld])\n",
                        static_cast<long long>(window.sink), static_cast<long long>(window.recent));
        else
            std::printf("protocol: same window for every mode, m = [%lld, %lld]\n",
                        static_cast<long long>(window.sink), static_cast<long long>(window.recent));
    }
    // Warm-up (kernel selection, allocator growth) on the first blocks, untimed.
    const int64_t warm = args.get_int("warmup-blocks") * editor.source_frames_per_block();
    const std::vector<EditMode> modes{EditMode::Off, EditMode::Naive, EditMode::Lipar};
    std::vector<ModeResult> results;
    // The first run of a mode is its result (outputs for the fidelity columns); every run adds
    // its FPS and DiT time to the medians.
    auto add_run = [&](ModeResult r) {
        const double fps = r.run_fps(), dit = r.run_dit_ms();
        auto it = std::find_if(results.begin(), results.end(),
                               [&](const ModeResult& x) { return x.mode == r.mode; });
        if (it == results.end()) {
            results.push_back(std::move(r));
            it = results.end() - 1;
        }
        it->fps_runs.push_back(fps);
        it->dit_runs.push_back(dit);
    };
    // One whole run of a mode over the input (latents or frames).
    auto run_input = [&](EditMode mode) {
        return latents.defined() ? run_latents(editor_for(mode), latents, params, mode, settings.device)
                                 : run_mode(editor_for(mode), frames, params, mode, settings.device);
    };
    // Warm-up of every mode on the input's first blocks (kernel selection, allocator growth),
    // untimed.
    const std::vector<Frame> head(frames.begin(),
                                  frames.begin() + std::clamp<int64_t>(warm, 0, frames.size()));
    for (auto mode : modes) {
        if (latents.defined()) {
            const int64_t fpb = editor.frames_per_block();
            run_latents(editor_for(mode), latents.narrow(1, 0, std::min<int64_t>(2 * fpb, latents.size(1))),
                        params, mode, settings.device);
        } else if (!head.empty()) {
            run_mode(editor_for(mode), head, params, mode, settings.device);
        }
    }
    for (int64_t run = 0; run < runs; ++run) {
        for (auto mode : modes) add_run(run_input(mode));
    }
    // Profiled runs (after the timed ones, so the profiler's overhead never enters the medians).
    std::vector<std::pair<EditMode, TraceSummary>> traces;
    if (args.has("trace")) {
        const std::filesystem::path dir = args.get("trace");
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        LIPAR_CHECK(!ec, StatusCode::IoError, "--trace: cannot create '", dir.string(), "': ", ec.message());
        for (auto mode : modes) {
            const auto path = (dir / (std::string(edit_mode_name(mode)) + ".json")).string();
            traces.emplace_back(mode, trace_run([&] { run_input(mode); }, path, settings.device));
        }
    }
    const ModeResult& off = results[0];
    for (auto& r : results) {
        double psnr_sum = 0;
        const size_t m = std::min(r.outputs.size(), off.outputs.size());
        int64_t counted = 0;
        for (size_t i = 0; i < m; ++i) {
            const double p = media::psnr_db(r.outputs[i], off.outputs[i]);
            if (std::isfinite(p)) {
                psnr_sum += p;
                ++counted;
            }
        }
        r.psnr_db = counted ? psnr_sum / counted : INFINITY;
        if (!r.latents.empty() && r.latents.size() == off.latents.size()) {
            auto a = torch::cat(r.latents, 1), b = torch::cat(off.latents, 1);
            r.latent_rel = relative_error(a, b);
            // [f, gh, gw] token mask -> latent pixels [1, f, h, w]
            auto keep = torch::cat(r.keeps, 0);
            keep = keep.repeat_interleave(a.size(2) / keep.size(1), 1)
                       .repeat_interleave(a.size(3) / keep.size(2), 2)
                       .unsqueeze(0)
                       .expand_as(a);
            r.kept_rel = relative_error(a.masked_select(keep), b.masked_select(keep));
        }
    }
    for (const auto& r : results) {
        const double per = r.frames ? 1.0 / r.frames : 0;
        if (json) {
            Json j = Json::object();
            j.set("mode", edit_mode_name(r.mode));
            j.set("input", input);
            j.set("frames", r.frames);
            j.set("width", editor.width());
            j.set("height", editor.height());
            j.set("device", editor.device_name());
            j.set("pack", pack.name);
            j.set("untrained", pack.untrained);
            j.set("fps", r.fps());
            j.set("runs", static_cast<int64_t>(r.fps_runs.size()));
            Json fr = Json::array(), dr = Json::array();
            for (double v : r.fps_runs) fr.push_back(v);
            for (double v : r.dit_runs) dr.push_back(v);
            j.set("fps_runs", fr);
            j.set("dit_ms_per_block_runs", dr);
            j.set("speedup_vs_off", off.fps() > 0 ? r.fps() / off.fps() : 0.0);
            j.set("dit_ms_per_block", r.dit_ms_per_block());
            j.set("dit_speedup_vs_off", r.dit_ms_per_block() > 0
                                             ? off.dit_ms_per_block() / r.dit_ms_per_block()
                                             : 0.0);
            j.set("kept_ratio", r.totals.mean_kept_ratio());
            j.set("encode_ms_per_frame", r.totals.encode_ms * per);
            j.set("detect_ms_per_frame", r.totals.detect_ms * per);
            j.set("denoise_ms_per_frame", r.totals.denoise_ms * per);
            j.set("decode_ms_per_frame", r.totals.decode_ms * per);
            j.set("psnr_db_vs_off", std::isfinite(r.psnr_db) ? Json(r.psnr_db) : Json("inf"));
            j.set("latent_rel_error_vs_off", r.latent_rel);
            j.set("kept_token_rel_error_vs_off", r.kept_rel);
            j.set("peak_gpu_gb", r.peak_gb);
            j.set("tau1", params.tau1);
            j.set("tau2", params.tau2);
            j.set("protocol", protocol);
            j.set("cuda_graphs", editor_for(r.mode).graph_summary());
            const bool wide = r.mode == EditMode::Off && paper_baseline;
            j.set("window", Json::array().push_back(wide ? int64_t(1) : window.sink)
                                .push_back(wide ? int64_t(20) : window.recent));
            std::cout << j.dump() << "\n";
        }
    }
    if (!json) {
        std::printf("\n%-6s %7s %8s %9s %8s %7s %7s %8s %7s %8s %9s %8s\n", "mode", "FPS", "speedup",
                    "DiT/block", "DiT x", "kept", "enc", "detect", "denoise", "decode", "PSNR-off",
                    "lat.err");
        for (const auto& r : results) {
            const double per = r.frames ? 1.0 / r.frames : 0;
            std::printf("%-6s %7.2f %7.2fx %7.1fms %7.2fx %6.1f%% %7.1f %8.1f %7.1f %8.1f %9.2f %8.4f %8.4f\n",
                        edit_mode_name(r.mode), r.fps(), off.fps() > 0 ? r.fps() / off.fps() : 0.0,
                        r.dit_ms_per_block(),
                        r.dit_ms_per_block() > 0 ? off.dit_ms_per_block() / r.dit_ms_per_block() : 0.0,
                        100.0 * r.totals.mean_kept_ratio(), r.totals.encode_ms * per,
                        r.totals.detect_ms * per, r.totals.denoise_ms * per, r.totals.decode_ms * per, r.psnr_db, r.latent_rel,
                        r.kept_rel);
        }
        std::printf("(FPS and DiT/block: medians of %lld runs per mode; FPS of each run:",
                    static_cast<long long>(runs));
        for (const auto& r : results) {
            std::printf(" %s", edit_mode_name(r.mode));
            for (double v : r.fps_runs) std::printf(" %.2f", v);
            std::printf(";");
        }
        std::printf(")\n");
        std::printf("text: %s\n", editor.text_summary().c_str());
        std::printf("CUDA graphs: %s", editor.graph_summary().c_str());
        if (paper_baseline) std::printf(" (off's editor: %s)", paper_baseline->graph_summary().c_str());
        std::printf("\n");
        std::printf("(stage columns: ms per output frame; PSNR, latent error and kept-token latent "
                    "error against off; peak GPU memory %.2f / %.2f / %.2f GB)\n",
                    results[0].peak_gb, results[1].peak_gb, results[2].peak_gb);
    }
    // With --json the summaries go to stderr, so that stdout stays one JSON object per mode.
    FILE* to = json ? stderr : stdout;
    for (const auto& [mode, t] : traces) {
        const auto& r = *std::find_if(results.begin(), results.end(),
                                      [&](const ModeResult& x) { return x.mode == mode; });
        const double blocks = std::max<double>(1.0, double(r.totals.blocks));
        const std::string where = t.saved.empty() ? "not saved: " + t.save_error : t.saved;
        std::fprintf(to, "\ntrace %s (%s): wall %.1f ms, GPU busy %.1f ms (%.0f%%), %lld kernels "
                         "(%.0f per block), %lld host events\n",
                     edit_mode_name(mode), where.c_str(), t.wall_ms, t.gpu_busy_ms,
                     t.wall_ms > 0 ? 100.0 * t.gpu_busy_ms / t.wall_ms : 0.0,
                     static_cast<long long>(t.kernels), double(t.kernels) / blocks,
                     static_cast<long long>(t.host_ops));
        if (t.kernels > 0) std::fprintf(to, "  kernel time by kind:\n%s  biggest kernels:\n", t.by_kind.c_str());
        else std::fprintf(to, "  biggest host operators (inclusive times):\n");
        std::fprintf(to, "%s", t.top_kernels.c_str());
    }
    return 0;
}

}  // namespace lipar::cli
