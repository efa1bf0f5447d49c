// `lipar edit IN -o OUT --prompt TEXT --mode off|naive|lipar|compare ...`
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "args.h"
#include "cli_common.h"
#include "commands.h"
#include "core/error.h"
#include "core/timer.h"
#include "media/label.h"
#include "media/output_file.h"
#include "media/video_sink.h"
#include "media/video_source.h"
#include "pipeline/editor.h"

namespace lipar::cli {

namespace {

// A live stream beside (or instead of) the output file: a target that cannot be reached or a
// receiver that goes away is reported once, and the edit goes on without the stream.
class StreamOutput {
  public:
    StreamOutput(std::string url, const media::EncodeOptions& options) : m_url(std::move(url)) {
        if (m_url.empty()) return;
        try {
            m_sink = media::open_video_sink(m_url, options);
        } catch (const Error& e) {
            stop(e.what());
        }
    }
    void write(const Frame& frame) {
        if (!m_sink) return;
        try {
            m_sink->write(frame);
            ++m_frames;
        } catch (const Error& e) {
            stop(e.what());
        }
    }
    void close() {
        if (!m_sink) return;
        try {
            m_sink->close();
        } catch (const Error& e) {
            stop(e.what());
        }
        m_sink.reset();
    }
    bool requested() const { return !m_url.empty(); }
    std::string summary() const {
        return m_url + ": " + std::to_string(m_frames) + " frames sent" +
               (m_error.empty() ? "" : "; stopped: " + m_error);
    }

  private:
    void stop(const std::string& why) {
        m_error = why;
        m_sink.reset();
        std::fprintf(stderr, "\nlipar edit: stream %s: %s; the edit goes on without it\n",
                     m_url.c_str(), why.c_str());
    }
    std::string m_url, m_error;
    std::unique_ptr<media::VideoSink> m_sink;
    int64_t m_frames = 0;
};

std::string fps_label(const char* side, double ms_per_frame) {
    char buf[64];
    if (ms_per_frame <= 0) {
        std::snprintf(buf, sizeof buf, "%s", side);
    } else {
        std::snprintf(buf, sizeof buf, "%s %.1f FPS", side, 1000.0 / ms_per_frame);
    }
    return buf;
}


}  // namespace

int cmd_edit(const CommandArgs& argv) {
    Args args("edit", argv);
    args.positional("IN", "input video (any format FFmpeg reads, or .y4m)")
        .option("out", "output video: .mp4 (fragmented H.264), .mkv or .y4m")
        .alias("-o", "out")
        .option("stream", "also send the result live to srt://HOST:PORT, udp://HOST:PORT (MPEG-TS) "
                          "or rtmp://HOST/APP/KEY (OBS Media Source, ffplay)")
        .option("frames", "process at most this many source frames (-1: all)", "-1");
    declare_edit_options(args);
    declare_engine_options(args);
    if (!args.parse()) return 0;
    LIPAR_CHECK(args.has("out") || args.has("stream"), StatusCode::InvalidArgument,
                "-o OUT or --stream URL is required");
    const std::string in_path = args.get("IN"), out_path = args.get("out");
    if (args.has("out")) {
        const auto ext = std::filesystem::path(out_path).extension().string();
        LIPAR_CHECK(ext == ".mp4" || ext == ".mkv" || ext == ".y4m", StatusCode::InvalidArgument,
                    "output '", out_path, "' must end in .mp4, .mkv or .y4m");
        media::refuse_overwriting_inputs(out_path, {in_path});
    }
    LIPAR_CHECK(!args.has("stream") || media::is_stream_url(args.get("stream")),
                StatusCode::InvalidArgument, "--stream '", args.get("stream"),
                "' is not a stream address (srt://, udp://, rtmp://)");
    const EditParams params = edit_params(args);
    const int64_t max_frames = args.get_int("frames");
    pipeline_stages(args);                        // one count (a list is for lipar bench)
    const auto settings = editor_settings(args);  // option errors before anything is opened

    auto source = media::open_video(in_path);  // clear errors for missing / unreadable input
    const auto info = source->info();
    const auto pack = pipeline::ModelPack::load(resolve_pack_dir(args));
    pipeline::Editor editor(pack, settings);
    editor.set_params(params);
    if (pack.untrained) {
        std::fprintf(stderr, "note: pack '%s' is UNTRAINED (random weights): the output is noise; "
                             "speed and pruning are real\n", pack.name.c_str());
    }

    media::EncodeOptions enc;
    const bool compare = params.mode == EditMode::Compare;
    enc.width = editor.width() * (compare ? 2 : 1);
    enc.height = editor.height();
    enc.fps = info.fps > 0 ? info.fps : 25.0;
    enc.audio_from = info.has_audio ? in_path : "";
    // Written under OUT.partial.EXT and renamed at the end: an interrupted edit leaves nothing
    // under the output's name (and an older file of that name stays until the new one is done).
    std::unique_ptr<media::PartialFile> partial;
    std::unique_ptr<media::VideoSink> sink;
    if (!out_path.empty()) {
        partial = std::make_unique<media::PartialFile>(out_path, media::PartialFile::OnAbort::Remove);
        sink = media::open_video_sink(partial->path(), enc);
    }
    media::EncodeOptions live = enc;
    live.audio_from.clear();
    StreamOutput stream(args.get("stream"), live);

    int64_t total = info.frame_count;
    if (max_frames >= 0 && (total < 0 || max_frames < total)) total = max_frames;
    Progress progress("editing", total);
    pipeline::ReportTotals totals;
    int64_t edited = 0;
    int64_t last_block = -1, read = 0, written = 0;
    double base_ms_pf = 0, main_ms_pf = 0;
    Timer wall;
    auto write_outputs = [&](std::vector<pipeline::EditedFrame>& outs) {
        const auto& r = editor.last_report();
        if (r.block != last_block && r.block >= 0) {
            last_block = r.block;
            totals.add(r);
            if (r.output_frames > 0) {
                main_ms_pf = (r.denoise_ms + r.decode_ms) / r.output_frames;
                base_ms_pf = (r.baseline_denoise_ms + r.baseline_decode_ms) / r.output_frames;
            }
        }
        for (auto& o : outs) {
            Frame frame = compare ? media::side_by_side(o.baseline, o.output,
                                                        fps_label("BASELINE", base_ms_pf),
                                                        fps_label("LIPAR", main_ms_pf))
                                  : o.output;
            // Keep the output as long as the input (audio stays in sync): frames the
            // autoencoder withholds at the start are shown as the first edited frame.
            while (written <= o.index) {
                frame.index = written;
                if (sink) sink->write(frame);
                stream.write(frame);
                ++written;
            }
        }
        edited += static_cast<int64_t>(outs.size());
    };
    Frame frame;
    while ((max_frames < 0 || read < max_frames) && source->read(frame)) {
        ++read;
        auto outs = editor.push(frame);
        write_outputs(outs);
        const double secs = wall.elapsed_ms() / 1000.0;
        char detail[96];
        std::snprintf(detail, sizeof detail, "%.1f FPS  kept %.0f%%", secs > 0 ? written / secs : 0.0,
                      100.0 * totals.mean_kept_ratio());
        progress.update(read, detail);
    }
    auto outs = editor.flush();
    write_outputs(outs);
    LIPAR_CHECK(read > 0, StatusCode::FormatError, "'", in_path, "' has no video frames");
    if (sink) {
        sink->close();
        partial->commit();
    }
    stream.close();
    progress.finish();
    const double secs = wall.elapsed_ms() / 1000.0;
    const double per = edited > 0 ? 1.0 / static_cast<double>(edited) : 0.0;
    std::printf("\n%-14s %s -> %s\n", "video", in_path.c_str(),
                out_path.empty() ? "(no file)" : out_path.c_str());
    if (stream.requested()) std::printf("%-14s %s\n", "stream", stream.summary().c_str());
    std::printf("%-14s %lld read, %lld written (%lld edited%s)\n", "frames", (long long)read,
                (long long)written, (long long)edited,
                written > edited ? "; leading frames repeat the first edited one" : "");
    std::string steps;
    for (double s : editor.step_list()) steps += (steps.empty() ? "" : ", ") + std::to_string(std::lround(s));
    std::printf("%-14s %s, prompt \"%s\", tau1 %.3g, tau2 %.3g, steps [%s], seed %llu\n", "mode",
                edit_mode_name(params.mode), params.prompt.c_str(), params.tau1, params.tau2,
                steps.c_str(), (unsigned long long)params.seed);
    std::printf("%-14s %s (%dx%d) on %s%s\n", "model", pack.name.c_str(), editor.width(),
                editor.height(), editor.device_name().c_str(), pack.untrained ? " [UNTRAINED]" : "");
    std::printf("%-14s %s\n", "text", editor.text_summary().c_str());
    std::printf("%-14s %.2f FPS end to end (%.1f s)\n", "throughput", secs > 0 ? written / secs : 0.0,
                secs);
    if (params.mode != EditMode::Off) {
        std::printf("%-14s %.1f%% of tokens recomputed (mean over %lld blocks)\n", "kept",
                    100.0 * totals.mean_kept_ratio(),
                    (long long)totals.blocks);
    }
    std::printf("%-14s encode %.1f  detect %.1f  denoise %.1f  decode %.1f\n", "ms per frame",
                totals.encode_ms * per, totals.detect_ms * per, totals.denoise_ms * per,
                totals.decode_ms * per);
    if (compare) {
        const double b = (totals.baseline_denoise_ms + totals.baseline_decode_ms) * per;
        const double l = (totals.denoise_ms + totals.decode_ms) * per;
        std::printf("%-14s baseline %.1f ms/frame (%.2f FPS) vs LIPAR %.1f ms/frame (%.2f FPS): "
                    "%.2fx\n", "compare", b, b > 0 ? 1000 / b : 0.0, l, l > 0 ? 1000 / l : 0.0,
                    l > 0 ? b / l : 0.0);
    }
    return 0;
}

}  // namespace lipar::cli
