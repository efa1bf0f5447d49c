#pragma once
// The source thread: reads a file or a camera and hands frames to the input channel.
//
// Realtime pacing of a file plays it at its frame rate (the thread sleeps until each frame's
// presentation time; a stop wakes it); cameras pace themselves. EveryFrame pacing reads as fast as
// the input channel accepts. At the end of a file (or at max_frames) it signals the end of stream;
// a read error is reported through on_error and also ends the stream.
//
// Threads: constructed and destroyed by the controlling thread (the destructor stops and joins);
// run() is the source thread. m_mutex guards m_stop; m_cv wakes a pacing sleep.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "media/video_source.h"
#include "runtime/input_channel.h"

namespace lipar::runtime {

class SourceThread {
  public:
    // The channel must already be open for `generation`, and outlive this object.
    SourceThread(std::unique_ptr<media::VideoSource> source,
                 Pacing pacing,
                 InputChannel& input,
                 uint64_t generation,
                 std::function<void(Status)> on_error);
    ~SourceThread();  // stop() and join
    SourceThread(const SourceThread&) = delete;
    SourceThread& operator=(const SourceThread&) = delete;

    // Asks the thread to finish and joins it. A producer blocked in the channel is released only
    // by the channel (a new generation or stop()): callers do that first.
    void stop();

  private:
    void run();
    bool wait_until(Clock::time_point deadline);  // false when stopped

    std::unique_ptr<media::VideoSource> m_source;  // the source thread's alone once started
    Pacing m_pacing;
    InputChannel& m_input;
    uint64_t m_generation;
    std::function<void(Status)> m_on_error;
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_stop = false;  // guarded by m_mutex
    std::thread m_thread;
};

}  // namespace lipar::runtime
