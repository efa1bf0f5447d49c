// `lipar eval CLIP [--styles all|a,b] [--modes off,naive,lipar] [--sheet OUT.png] [--json]`:
// how close each style's edit comes to its style operator (PSNR, SSIM), how much it flickers,
// and how far pruning moves it from the dense result; optionally a contact sheet
// (input | operator | off | naive | lipar per style) a person can look at.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <iostream>
#include <sstream>

#include "args.h"
#include "cli_common.h"
#include "commands.h"
#include "core/error.h"
#include "core/json.h"
#include "core/timer.h"
#include "media/convert.h"
#include "media/label.h"
#include "media/png_writer.h"
#include "media/video_source.h"
#include "pipeline/editor.h"
#include "train/quality.h"
#include "train/styles.h"

namespace lipar::cli {

namespace {

struct Run {
    std::vector<Frame> inputs, outputs;
    double fps = 0, kept = 1.0;
};

Run run(pipeline::Editor& editor, const std::vector<Frame>& frames, EditParams p) {
    Run r;
    editor.reset();
    editor.set_params(p);
    pipeline::ReportTotals totals;
    int64_t last_block = -1;
    auto collect = [&](std::vector<pipeline::EditedFrame>& outs) {
        const auto& rep = editor.last_report();
        if (rep.block >= 0 && rep.block != last_block) {
            last_block = rep.block;
            totals.add(rep);
        }
        for (auto& o : outs) {
            r.inputs.push_back(std::move(o.input));
            r.outputs.push_back(std::move(o.output));
        }
    };
    Timer t;
    for (const auto& f : frames) {
        auto outs = editor.push(f);
        collect(outs);
    }
    auto outs = editor.flush();
    collect(outs);
    const double s = t.elapsed_ms() / 1000.0;
    r.fps = s > 0 ? double(r.outputs.size()) / s : 0;
    r.kept = totals.mean_kept_ratio();
    return r;
}

}  // namespace

int cmd_eval(const CommandArgs& argv) {
    Args args("eval", argv);
    args.positional("CLIP", "video to edit (any format FFmpeg reads, or .y4m)")
        .option("styles", "comma-separated style names, or all", "all")
        .option("modes", "comma-separated modes: off, naive, lipar; naive+motion and lipar+motion "
                         "detect with global motion compensation, +local with per-tile motion; +causal and +authors choose detection's "
                         "temporal filters (default lookahead)", "off,naive,lipar")
        .option("frames", "source frames to use", "48")
        .option("start", "skip this many frames first (e.g. to score a clip's held-out tail)", "0")
        .option("sheet", "write a contact sheet PNG (input | operator | each mode, per style)")
        .option("sheet-frame", "which output frame the sheet shows (default: the middle one)")
        .option("sheet-scale", "size of the sheet's cells relative to the model resolution", "0.5")
        .option("tau1", "short-term duplicate threshold", "0.15")
        .option("tau2", "long-term threshold", "0.3")
        .option("seed", "noise seed", "0")
        .flag("json", "one JSON object per style and mode instead of a table");
    declare_engine_options(args);
    if (!args.parse()) return 0;
    pipeline_stages(args);  // one count (a list is for lipar bench)
    const auto settings = editor_settings(args);
    const auto pack = pipeline::ModelPack::load(resolve_pack_dir(args));
    LIPAR_CHECK(!pack.untrained, StatusCode::InvalidArgument, "pack '", pack.name,
                "' is untrained (random weights): its edits cannot be scored");
    std::vector<train::Style> styles;
    if (args.get("styles") == "all") {
        for (const auto& s : train::style_catalog()) styles.push_back(s.style);
    } else {
        for (const auto& name : split_list(args.get("styles"))) {
            const auto s = train::parse_style(name);
            LIPAR_CHECK(s != train::Style::Invalid, StatusCode::InvalidArgument, "unknown style '",
                        name, "'");
            styles.push_back(s);
        }
    }
    struct EvalMode {
        EditMode mode;
        MotionCompensation motion;
        DetectionFilters detection;
        std::string name;
    };
    std::vector<EvalMode> modes;
    for (const auto& m : split_list(args.get("modes"))) {
        // MODE[+motion][+causal | +authors | +lookahead]
        const auto plus = m.find('+');
        const auto mode = parse_edit_mode(m.substr(0, plus));
        EvalMode em{mode, MotionCompensation::Off, DetectionFilters::LookAhead, m};
        bool known = mode == EditMode::Naive || mode == EditMode::Lipar || (mode == EditMode::Off && plus == std::string::npos);
        for (const auto& extra : plus == std::string::npos ? std::vector<std::string>{} : split_list(m.substr(plus + 1), '+')) {
            if (extra == "motion") em.motion = MotionCompensation::Global;
            else if (extra == "local") em.motion = MotionCompensation::Local;
            else if (extra == "authors") em.detection = DetectionFilters::AuthorsStream;
            else if (extra == "lookahead") em.detection = DetectionFilters::LookAhead;
            else if (extra == "causal") em.detection = DetectionFilters::Causal;
            else known = false;
        }
        LIPAR_CHECK(known, StatusCode::InvalidArgument,
                    "--modes takes off, naive, lipar, each pruned one optionally with +motion (global) or +local and one of "
                    "+lookahead, +causal, +authors (e.g. lipar+motion+causal), not '", m, "'");
        modes.push_back(em);
    }
    const int64_t start = args.get_int("start");
    LIPAR_CHECK(start >= 0, StatusCode::InvalidArgument, "--start must not be negative");
    auto frames = media::read_video_frames(args.get("CLIP"), start + args.get_int("frames"));
    frames.erase(frames.begin(), frames.begin() + std::min<int64_t>(start, static_cast<int64_t>(frames.size())));
    LIPAR_CHECK(frames.size() >= 2, StatusCode::FormatError, "'", args.get("CLIP"),
                "' has fewer than two frames");
    pipeline::Editor editor(pack, settings);
    const bool json = args.flag_set("json");
    if (!json) {
        std::printf("eval: %s, %zu frames at %dx%d, pack %s, %s\n\n", args.get("CLIP").c_str(),
                    frames.size(), editor.width(), editor.height(), pack.name.c_str(),
                    editor.device_name().c_str());
        std::printf("%-16s %-12s %8s %7s %8s %9s %7s %7s\n", "style", "mode", "PSNR", "SSIM",
                    "flicker", "vs off", "kept", "FPS");
    }
    // Contact sheet cells, per style: input, operator, then each mode.
    std::vector<std::vector<Frame>> sheet;
    std::vector<std::string> row_names;
    int64_t sheet_index = -1;
    for (const auto style : styles) {
        const auto& info = train::style_info(style);
        std::vector<Frame> cells;
        torch::Tensor off_out;
        for (const auto& [mode, motion, detection, mode_name] : modes) {
            EditParams p;
            p.prompt = info.name == "original" ? "" : info.name;
            p.mode = mode;
            p.motion = motion;
            p.detection = detection;
            p.tau1 = args.get_double("tau1");
            p.tau2 = args.get_double("tau2");
            p.seed = static_cast<uint64_t>(args.get_int("seed"));
            auto r = run(editor, frames, p);
            auto in = train::frames_to_tensor(r.inputs);
            auto out = train::frames_to_tensor(r.outputs);
            auto target = train::apply_style(style, in);
            const double psnr = train::psnr_db(out, target);
            const double ssim = train::ssim(out, target);
            const double in_change = train::temporal_change(in);
            const double flicker = in_change > 0 ? train::temporal_change(out) / in_change : 0.0;
            double vs_off = std::numeric_limits<double>::infinity();
            if (mode == EditMode::Off) off_out = out;
            else if (off_out.defined()) vs_off = train::psnr_db(out, off_out);
            if (json) {
                Json j = Json::object()
                             .set("style", info.name)
                             .set("mode", mode_name)
                             .set("psnr_db", psnr)
                             .set("ssim", ssim)
                             .set("flicker", flicker)
                             .set("kept_ratio", r.kept)
                             .set("fps", r.fps);
                if (std::isfinite(vs_off)) j.set("psnr_vs_off_db", vs_off);
                std::cout << j.dump() << "\n";
            } else {
                std::printf("%-16s %-12s %6.2fdB %7.4f %7.2fx %7.2fdB %6.1f%% %7.1f\n",
                            info.name.c_str(), mode_name.c_str(), psnr, ssim, flicker,
                            std::isfinite(vs_off) ? vs_off : 0.0, 100.0 * r.kept, r.fps);
            }
            if (sheet_index < 0) {
                sheet_index = args.has("sheet-frame") ? args.get_int("sheet-frame")
                                                      : static_cast<int64_t>(r.outputs.size()) / 2;
                sheet_index = std::min<int64_t>(sheet_index, static_cast<int64_t>(r.outputs.size()) - 1);
            }
            if (cells.empty()) {
                cells.push_back(r.inputs[static_cast<size_t>(sheet_index)]);
                cells.push_back(train::tensor_to_frame(target[sheet_index]));
            }
            cells.push_back(r.outputs[static_cast<size_t>(sheet_index)]);
        }
        sheet.push_back(std::move(cells));
        row_names.push_back(info.name);
        std::fflush(stdout);
    }
    if (args.has("sheet")) {
        std::vector<std::string> columns = {"input", "operator"};
        for (const auto& m : modes) columns.push_back(m.name);
        const double scale = args.get_double("sheet-scale");
        LIPAR_CHECK(scale > 0.05 && scale <= 4.0, StatusCode::InvalidArgument,
                    "--sheet-scale must be in (0.05, 4]");
        const int cw = std::max(8, static_cast<int>(std::lround(sheet[0][0].width * scale)));
        const int ch = std::max(8, static_cast<int>(std::lround(sheet[0][0].height * scale)));
        Frame out;
        out.resize(cw * static_cast<int>(columns.size()), ch * static_cast<int>(sheet.size()));
        for (size_t r = 0; r < sheet.size(); ++r) {
            for (size_t c = 0; c < sheet[r].size(); ++c) {
                Frame cell = media::resize_bilinear(sheet[r][c], cw, ch);
                std::string label = columns[c];
                if (c == 0) label = row_names[r] + ": " + label;
                media::draw_label(cell, 4, 4, label, media::LabelStyle{1});
                for (int y = 0; y < ch; ++y) {
                    std::memcpy(out.pixel(static_cast<int>(c) * cw, static_cast<int>(r) * ch + y),
                                cell.pixel(0, y), static_cast<size_t>(cw) * 3);
                }
            }
        }
        media::write_png(out, args.get("sheet"));
        if (!json) std::printf("\ncontact sheet: %s\n", args.get("sheet").c_str());
    }
    return 0;
}

}  // namespace lipar::cli
