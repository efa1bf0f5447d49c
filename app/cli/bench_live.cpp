// `lipar bench --live CLIP`: the real engine behind a file source paced at its frame rate, as a
// camera would feed it: output rate, blocks delivered, drops at every stage, and per-frame latency
// from the source frame's arrival to the result ready and to "presented" (taken here, as a
// preview would), off and lipar in turn.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "bench_live.h"
#include "core/error.h"
#include "lipar/engine.h"

namespace lipar::cli {

namespace {

void check(const Status& s) {
    if (!s.ok()) throw Error(s.code, s.message);
}

struct LiveResult {
    EditMode mode = EditMode::Invalid;
    EngineStats stats;
    LatencySummary presented;
    int64_t outputs = 0, blocks = 0;
    double seconds = 0, max_gap_s = 0;
    std::string device;
};

LiveResult run_live(const EngineConfig& config, const std::string& clip, int64_t frames,
                    EditParams params, EditMode mode) {
    params.mode = mode;
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
    for (;;) {
        wait_wakeup();
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
            first_delivery = false;
            last_delivery = now;
            r.outputs += taken;
            ++r.blocks;
        }
        const auto state = engine.state();
        if (state == EngineState::Finished) break;
        if (state == EngineState::Failed) {
            auto e = engine.take_error();
            fail(StatusCode::Internal, "the engine failed", e ? ": " + e->message : "");
        }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.stats = engine.stats();
    r.presented = presented.summary();
    engine.stop();
    return r;
}

}  // namespace

int bench_live(const EngineConfig& config, const std::string& clip, int64_t frames,
               const EditParams& params) {
    std::vector<LiveResult> results;
    for (auto mode : {EditMode::Off, EditMode::Lipar}) results.push_back(run_live(config, clip, frames, params, mode));
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
                    100.0 * s.kept_ratio, s.latency.p50_ms, s.latency.p95_ms, s.latency.max_ms,
                    r.presented.p50_ms, r.presented.p95_ms, r.presented.max_ms);
    }
    std::printf("\n(drop in: frames the engine never took; drop out: results pushed out before "
                "they were taken; stream restarts: %lld / %lld)\n",
                static_cast<long long>(results[0].stats.stream_resets),
                static_cast<long long>(results[1].stats.stream_resets));
    return 0;
}

}  // namespace lipar::cli
