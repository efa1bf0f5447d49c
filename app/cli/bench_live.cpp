// `lipar bench --live CLIP`: the real engine behind a file source paced at its frame rate, as a
// camera would feed it: output rate, blocks delivered, drops at every stage, and per-frame latency
// from the source frame's arrival to the result ready and to "presented" (taken here, as a
// preview would), off and lipar in turn. With a prompt swap (--swap-prompt), the new prompt is set
// mid-stream and the output rate over the second around the moment it took effect is compared with
// the steady rate before the request (a swap must not leave a gap in the preview).
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "bench_live.h"
#include "core/error.h"
#include "lipar/engine.h"

#include <stdlib.h>

namespace lipar::cli {

namespace {

namespace fs = std::filesystem;

void check(const Status& s) {
    if (!s.ok()) throw Error(s.code, s.message);
}

struct LiveResult {
    EditMode mode = EditMode::Invalid;
    EngineStats stats;
    LatencySummary presented;
    int64_t outputs = 0, blocks = 0;
    double seconds = 0, max_gap_s = 0;
    // Kept ratio of every delivered block after the first (the first recomputes everything), as
    // the engine reported it at delivery; the mean is printed (the engine's own figure is the
    // last block's, and a looped clip's final block repeats a frame, so it reads 0%).
    double kept_sum = 0;
    int64_t kept_blocks = 0;
    std::string device;
    // Prompt swap (times in seconds since the clock started; negative = did not happen).
    double swap_requested_s = -1, swap_ready_s = -1;
    double steady_fps = 0, swap_window_fps = 0, swap_max_gap_s = 0;
};

// Deliveries as (time, frames); each delivery's frames are spread evenly over the interval since
// the previous one, so the rate is piecewise constant and a window's rate is its integral over the
// window's length (no quantisation by whole blocks).
double rate_over(const std::vector<std::pair<double, int64_t>>& d, double from, double to) {
    double frames = 0;
    for (size_t i = 1; i < d.size(); ++i) {
        const double a = d[i - 1].first, b = d[i].first;
        if (b <= a) continue;
        const double overlap = std::min(b, to) - std::max(a, from);
        if (overlap > 0) frames += double(d[i].second) * overlap / (b - a);
    }
    return to > from ? frames / (to - from) : 0.0;
}

// A fresh prompt cache for one run, so that a swap measures a first-time encoding in every mode
// (the cache is one flat folder; removed file by file afterwards).
class ScratchPromptCache {
  public:
    ScratchPromptCache() {
        std::string pattern = (fs::temp_directory_path() / "lipar-bench-prompts-XXXXXX").string();
        LIPAR_CHECK(::mkdtemp(pattern.data()) != nullptr, StatusCode::IoError,
                    "cannot create a temporary prompt cache folder in ", fs::temp_directory_path().string());
        m_dir = pattern;
    }
    ~ScratchPromptCache() {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(m_dir, ec)) fs::remove(e.path(), ec);
        fs::remove(m_dir, ec);
    }
    const std::string& dir() const { return m_dir; }

  private:
    std::string m_dir;
};

LiveResult run_live(EngineConfig config, const std::string& clip, int64_t frames,
                    EditParams params, EditMode mode, const LiveSwap& swap) {
    params.mode = mode;
    std::optional<ScratchPromptCache> scratch;
    if (!swap.prompt.empty()) {
        scratch.emplace();
        config.prompt_cache_dir = scratch->dir();
    }
    Engine engine;
    std::mutex mutex;
    std::condition_variable cv;
    bool woken = false;
    engine.set_wakeup([&] {
        std::lock_guard<std::mutex> lock(mutex);
        woken = true;
        cv.notify_all();
    });
    check(engine.start(config, params));
    auto wait_wakeup = [&] {
        std::unique_lock<std::mutex> lock(mutex);
        cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return woken; });
        woken = false;
    };
    for (;;) {  // the pack loads before the clock starts
        const auto state = engine.state();
        if (state == EngineState::Ready) break;
        if (auto e = engine.take_error()) throw Error(e->code, e->message);
        wait_wakeup();
    }
    SourceSpec spec = SourceSpec::file(clip, /*loop=*/true, Pacing::Realtime);
    spec.max_frames = frames;
    check(engine.open_source(spec));
    LiveResult r;
    r.mode = mode;
    LatencyTracker presented(4096);
    const auto t0 = std::chrono::steady_clock::now();
    auto last_delivery = t0;
    bool first_delivery = true;
    auto since_t0 = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    std::vector<std::pair<double, int64_t>> deliveries;
    for (;;) {
        wait_wakeup();
        if (!swap.prompt.empty()) {
            if (r.swap_requested_s < 0 && since_t0() >= swap.after_s) {
                EditParams next = params;
                next.prompt = swap.prompt;
                check(engine.set_params(next));
                r.swap_requested_s = since_t0();
            } else if (r.swap_requested_s >= 0 && r.swap_ready_s < 0 &&
                       engine.stats().prompt == swap.prompt) {
                r.swap_ready_s = since_t0();  // the first block edited with the new prompt is out
            }
        }
        if (auto e = engine.take_error()) throw Error(e->code, e->message);
        EngineOutput out;
        int64_t taken = 0;
        while (engine.take_next(out)) {
            presented.add(latency_to_now_ms(out));
            ++taken;
        }
        if (taken > 0) {
            const auto now = std::chrono::steady_clock::now();
            if (!first_delivery)
                r.max_gap_s = std::max(r.max_gap_s, std::chrono::duration<double>(now - last_delivery).count());
            else {
                r.kept_sum += engine.stats().kept_ratio;
                ++r.kept_blocks;
            }
            first_delivery = false;
            last_delivery = now;
            r.outputs += taken;
            ++r.blocks;
            deliveries.emplace_back(std::chrono::duration<double>(now - t0).count(), taken);
        }
        const auto state = engine.state();
        if (state == EngineState::Finished) break;
        if (state == EngineState::Failed) {
            auto e = engine.take_error();
            fail(StatusCode::Internal, "the engine failed", e ? ": " + e->message : "");
        }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r.swap_requested_s >= 0 && deliveries.size() > 2) {
        // Steady: from the second delivery (the first block includes the pipeline's fill) to the
        // request. Around the swap: the second centred on the moment the first block edited with
        // the new prompt came out.
        r.steady_fps = rate_over(deliveries, deliveries[1].first, r.swap_requested_s);
        const double at = r.swap_ready_s >= 0 ? r.swap_ready_s : r.seconds;
        r.swap_window_fps = rate_over(deliveries, at - 0.5, at + 0.5);
        for (size_t i = 1; i < deliveries.size(); ++i)
            if (deliveries[i].first >= r.swap_requested_s && deliveries[i - 1].first <= at + 1.0)
                r.swap_max_gap_s = std::max(r.swap_max_gap_s, deliveries[i].first - deliveries[i - 1].first);
    }
    r.stats = engine.stats();
    r.presented = presented.summary();
    engine.stop();
    return r;
}

}  // namespace

int bench_live(const EngineConfig& config, const std::string& clip, int64_t frames,
               const EditParams& params, const LiveSwap& swap) {
    std::vector<LiveResult> results;
    for (auto mode : {EditMode::Off, EditMode::Lipar})
        results.push_back(run_live(config, clip, frames, params, mode, swap));
    std::printf("bench --live: %s paced at its frame rate, %lld source frames, pack %s, %s\n\n",
                clip.c_str(), static_cast<long long>(frames), results[0].stats.pack_name.c_str(),
                results[0].stats.device.c_str());
    std::printf("%-6s %8s %7s %9s %9s %9s %7s %23s %23s\n", "mode", "out fps", "blocks",
                "max gap", "drop in", "drop out", "kept", "ready p50/p95/max ms",
                "shown p50/p95/max ms");
    for (const auto& r : results) {
        const auto& s = r.stats;
        std::printf("%-6s %8.2f %7lld %8.2fs %9lld %9lld %6.1f%% %7.0f/%5.0f/%6.0f %7.0f/%5.0f/%6.0f\n",
                    edit_mode_name(r.mode), r.seconds > 0 ? r.outputs / r.seconds : 0.0,
                    static_cast<long long>(r.blocks), r.max_gap_s,
                    static_cast<long long>(s.dropped_frames), static_cast<long long>(s.dropped_output),
                    100.0 * (r.kept_blocks > 0 ? r.kept_sum / double(r.kept_blocks) : s.kept_ratio),
                    s.latency.p50_ms, s.latency.p95_ms, s.latency.max_ms,
                    r.presented.p50_ms, r.presented.p95_ms, r.presented.max_ms);
    }
    std::printf("\n(drop in: frames the engine never took; drop out: results pushed out before "
                "they were taken; kept: mean over the blocks after the first; stream restarts: %lld / %lld)\n",
                static_cast<long long>(results[0].stats.stream_resets),
                static_cast<long long>(results[1].stats.stream_resets));
    if (!swap.prompt.empty()) {
        std::printf("\nprompt swap to '%s' requested at %.1f s:\n", swap.prompt.c_str(), swap.after_s);
        std::printf("%-6s %16s %11s %12s %16s %9s %13s\n", "mode", "in effect after", "steady fps",
                    "swap fps", "swap / steady", "max gap", "stream resets");
        for (const auto& r : results) {
            if (r.swap_requested_s < 0) {
                std::printf("%-6s the stream ended before the swap time\n", edit_mode_name(r.mode));
                continue;
            }
            const bool ready = r.swap_ready_s >= 0;
            std::printf("%-6s %15.2fs %11.2f %12.2f %15.1f%% %8.2fs %13lld%s\n", edit_mode_name(r.mode),
                        ready ? r.swap_ready_s - r.swap_requested_s : r.seconds - r.swap_requested_s,
                        r.steady_fps, r.swap_window_fps,
                        r.steady_fps > 0 ? 100.0 * r.swap_window_fps / r.steady_fps : 0.0,
                        r.swap_max_gap_s, static_cast<long long>(r.stats.stream_resets),
                        ready ? "" : "  (not in effect when the stream ended)");
        }
        std::printf("(in effect after: from the request to the first block edited with the new "
                    "prompt, a first-time encoding in each mode; swap fps: output rate over the "
                    "second centred on that moment; max gap: longest wait between results from the "
                    "request to one second after)\n");
    }
    return 0;
}

}  // namespace lipar::cli
