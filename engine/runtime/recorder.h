#pragma once
// The recorder: writes engine results to a video file on its own writer thread.
//
// The engine thread hands frames in with write(); they wait in a bounded queue that never drops:
// when the writer lags, write() blocks the engine thread until there is room (back-pressure).
// stop() stops accepting frames, lets the writer drain the queue, closes the file and joins.
// A write error ends the recording: later frames are discarded and the error is reported once
// through on_error (and returned by stop()).
//
// Threads: start()/stop()/active()/frames_written() on the controlling thread; compose()/write()
// on the engine thread; run() on the writer thread. m_mutex guards every field marked below;
// m_room_cv wakes a waiting write(), m_data_cv the writer. m_thread and m_sink are touched by the
// controlling thread only while no writer runs, by the writer thread while it runs.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lipar/engine.h"
#include "media/output_file.h"
#include "media/video_sink.h"

namespace lipar::runtime {

class Recorder {
  public:
    // on_error: a write failed (the recording stops); on_written: a frame was written, with its
    // latency from the source frame's arrival (both called on the writer thread, no lock held).
    explicit Recorder(std::function<void(Status)> on_error,
                      std::function<void(double)> on_written = {}, size_t capacity = 24);
    ~Recorder();  // stop()
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;

    // Opens the file (width/height 0: the first frame's size) and starts the writer thread.
    Status start(const std::string& path, RecordContent content, double fps, int width, int height);
    Status stop();
    bool active() const;
    int64_t frames_written() const;

    // A frame to record and when its source frame arrived (steady clock, ns; 0 unknown).
    struct Item {
        Frame frame;
        int64_t arrival_ns = 0;
    };
    // Engine thread: the frames to record for these results (empty when not recording), made
    // before the results are handed to the consumer; then write() them.
    std::vector<Item> compose(const std::vector<EngineOutput>& outputs) const;
    void write(std::vector<Item> items);

  private:
    void run();

    std::function<void(Status)> m_on_error;
    std::function<void(double)> m_on_written;
    mutable std::mutex m_mutex;
    std::condition_variable m_room_cv;
    std::condition_variable m_data_cv;
    // --- guarded by m_mutex ---
    size_t m_capacity;
    std::deque<Item> m_queue;
    RecordContent m_content = RecordContent::Invalid;
    bool m_accepting = false;  // a recording is open and has not failed
    bool m_closing = false;    // stop(): drain, then close
    Status m_error;            // the first write error of this recording
    int64_t m_written = 0;
    std::string m_path;
    // --- see the threading note above ---
    std::unique_ptr<media::VideoSink> m_sink;
    std::unique_ptr<media::PartialFile> m_partial;  // the file being written, renamed at stop()
    std::thread m_thread;
};

// input|output side by side (baseline|output when the result has a baseline).
Frame side_by_side(const Frame& left, const Frame& right);

}  // namespace lipar::runtime
