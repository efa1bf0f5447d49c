#pragma once
// Shared by the runtime tests: a tiny random pack, the test clip's frames, and a consumer that
// waits on the engine's wakeup callback (never on sleeps).

#include <algorithm>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <vector>

#include "common/remove_tree.h"
#include "lipar/engine.h"
#include "media/convert.h"
#include "media/video_source.h"
#include "pipeline/random_pack.h"

namespace lipar::runtime_test {

namespace fs = std::filesystem;

// The real clip (mp4, or its y4m copy in a build without FFmpeg: see tests/CMakeLists.txt).
inline const std::string kClip = LIPAR_TEST_CLIP;
constexpr int kWidth = 128;
constexpr int kHeight = 64;
// Generous: a wait that times out means the engine hung or lost a wakeup.
constexpr std::chrono::seconds kTimeout{300};

inline const pipeline::ModelPack& tiny_pack() {
    static pipeline::ModelPack pack = [] {
        pipeline::RandomPackOptions o;
        o.config = "tiny";
        o.out =
            (fs::temp_directory_path() / ("lipar_runtime_test_pack_" + std::to_string(::getpid())))
                .string();
        o.seed = 11;
        lipar::test::remove_tree_at_exit(o.out);
        return pipeline::write_random_pack(o);
    }();
    return pack;
}

inline EngineConfig tiny_config() {
    EngineConfig c;
    c.pack = tiny_pack().dir;
    c.device = "cpu";
    c.width = kWidth;
    c.height = kHeight;
    return c;
}

// The clip's first n frames, fitted to the model size (what the editor would do to them).
inline std::vector<Frame> clip_frames(size_t n) {
    static std::vector<Frame> frames = [] {
        std::vector<Frame> out;
        if (!fs::exists(kClip))
            return out;
        for (auto& f : media::read_video_frames(kClip, 48)) {
            out.push_back(media::fit_frame(f, kWidth, kHeight, media::FitMode::Crop));
        }
        return out;
    }();
    return std::vector<Frame>(frames.begin(), frames.begin() + std::min(n, frames.size()));
}

// Collects results and errors on the test thread; the wakeup only signals.
class Consumer {
  public:
    enum class Take { Next, Latest };

    explicit Consumer(Engine& engine, Take take = Take::Next) : m_engine(engine), m_take(take) {
        engine.set_wakeup([this] { on_wakeup(); });
    }
    ~Consumer() {
        m_engine.stop();  // no wakeup may reach a destroyed consumer
        m_engine.set_wakeup({});
    }

    // Drains the engine after every wakeup until pred() holds; false on timeout.
    bool wait_until(const std::function<bool()>& pred) {
        const auto deadline = std::chrono::steady_clock::now() + kTimeout;
        for (;;) {
            drain();
            if (pred()) {
                drain();  // what was published before the state pred() saw
                return true;
            }
            std::unique_lock<std::mutex> lock(m_mutex);
            if (!m_cv.wait_until(lock, deadline, [&] { return m_signalled; })) {
                lock.unlock();
                drain();
                return pred();
            }
            m_signalled = false;
        }
    }
    bool wait_for_state(EngineState state) {
        return wait_until([&] { return m_engine.state() == state; });
    }
    bool wait_for_index(int64_t index) {
        return wait_until([&] { return !outputs.empty() && outputs.back().index >= index; });
    }

    // Makes the next wakeups block the engine thread until release() (a slow engine, on demand).
    void hold() {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_hold = true;
        m_held = false;
    }
    bool wait_until_held() {
        std::unique_lock<std::mutex> lock(m_mutex);
        return m_cv.wait_for(lock, kTimeout, [&] { return m_held; });
    }
    void release() {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_hold = false;
        m_cv.notify_all();
    }
    // Every wakeup keeps the engine thread this long: an engine slower than its source.
    void set_engine_delay(std::chrono::milliseconds delay) { m_delay = delay; }

    std::vector<EngineOutput> outputs;
    std::vector<std::chrono::steady_clock::time_point> taken_at;  // when each output was taken
    std::vector<Status> errors;

    // Longest wait between two consecutive takes: about one engine block on a loaded machine.
    double longest_gap_ms() const {
        double gap = 0;
        for (size_t i = 1; i < taken_at.size(); ++i)
            gap = std::max(gap, std::chrono::duration<double, std::milli>(taken_at[i] - taken_at[i - 1]).count());
        return gap;
    }

  private:
    void on_wakeup() {
        if (m_delay.count() > 0)
            std::this_thread::sleep_for(m_delay);  // models compute time, not a synchronization
        std::unique_lock<std::mutex> lock(m_mutex);
        m_signalled = true;
        if (m_hold)
            m_held = true;
        m_cv.notify_all();
        m_cv.wait(lock, [&] { return !m_hold; });
    }
    void drain() {
        EngineOutput out;
        if (m_take == Take::Latest) {
            if (m_engine.take_latest(out)) {
                outputs.push_back(std::move(out));
                taken_at.push_back(std::chrono::steady_clock::now());
            }
        } else {
            while (m_engine.take_next(out)) {
                outputs.push_back(std::move(out));
                taken_at.push_back(std::chrono::steady_clock::now());
            }
        }
        while (auto e = m_engine.take_error())
            errors.push_back(*e);
    }

    Engine& m_engine;
    Take m_take;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_signalled = false;  // guarded by m_mutex
    bool m_hold = false;
    bool m_held = false;
    std::chrono::milliseconds m_delay{0};
};

inline std::string error_list(const std::vector<Status>& errors) {
    std::string s;
    for (const auto& e : errors)
        s += e.to_string() + "\n";
    return s;
}

}  // namespace lipar::runtime_test
