#include "runtime/recorder.h"

#include "media/output_file.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "runtime/thread_name.h"

namespace lipar::runtime {

Frame side_by_side(const Frame& left, const Frame& right) {
    LIPAR_CHECK(!left.empty() && !right.empty() && left.height == right.height &&
                    left.rgb.size() >= left.byte_size() && right.rgb.size() >= right.byte_size(),
                StatusCode::InvalidArgument, "side by side needs two frames of the same height (",
                left.width, "x", left.height, " and ", right.width, "x", right.height, ")");
    Frame f;
    f.resize(left.width + right.width, left.height);
    f.index = right.index;
    f.pts_s = right.pts_s;
    const size_t lrow = static_cast<size_t>(left.width) * 3;
    const size_t rrow = static_cast<size_t>(right.width) * 3;
    for (int y = 0; y < f.height; ++y) {
        uint8_t* dst = f.pixel(0, y);
        std::memcpy(dst, left.pixel(0, y), lrow);
        std::memcpy(dst + lrow, right.pixel(0, y), rrow);
    }
    return f;
}

Recorder::Recorder(std::function<void(Status)> on_error, std::function<void(double)> on_written,
                   size_t capacity)
    : m_on_error(std::move(on_error)),
      m_on_written(std::move(on_written)),
      m_capacity(std::max<size_t>(capacity, 1)) {}

Recorder::~Recorder() {
    const Status s = stop();
    if (!s.ok())
        LIPAR_LOG_WARN("recorder: ", s.to_string());
}

Status Recorder::start(const std::string& path,
                       RecordContent content,
                       double fps,
                       int width,
                       int height) {
    if (content != RecordContent::Output && content != RecordContent::SideBySide) {
        return {StatusCode::InvalidArgument, "record content must be Output or SideBySide"};
    }
    if (path.empty())
        return {StatusCode::InvalidArgument, "no recording path given"};
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_accepting) {
            return {StatusCode::InvalidArgument,
                    "already recording to " + m_path + "; stop that recording first"};
        }
    }
    stop();  // joins the writer of a recording that failed
    media::EncodeOptions options;
    options.fps = fps > 0 ? fps : 30.0;
    options.width = content == RecordContent::SideBySide ? 2 * width : width;
    options.height = height;
    if (width <= 0 || height <= 0)
        options.width = options.height = 0;
    // A file is written as NAME.partial.EXT (playable at every moment, fragment by fragment) and
    // renamed to the requested name when the recording stops; a network stream (srt://, udp://,
    // rtmp://) is sent as it comes.
    std::unique_ptr<media::VideoSink> sink;
    std::unique_ptr<media::PartialFile> partial;
    if (!media::is_stream_url(path))
        partial = std::make_unique<media::PartialFile>(path, media::PartialFile::OnAbort::Keep);
    const Status opened = capture_status(
        [&] { sink = media::open_video_sink(partial ? partial->path() : path, options); });
    if (!opened.ok())
        return opened;

    std::lock_guard<std::mutex> lock(m_mutex);
    m_sink = std::move(sink);
    m_partial = std::move(partial);
    m_queue.clear();
    m_content = content;
    m_accepting = true;
    m_closing = false;
    m_error = Status();
    m_written = 0;
    m_path = path;
    m_thread = std::thread([this] { run(); });
    LIPAR_LOG_INFO("recording to ", path,
                   content == RecordContent::SideBySide ? " (side by side)" : "");
    return {};
}

Status Recorder::stop() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_thread.joinable())
            return {};
        m_accepting = false;
        m_closing = true;
    }
    m_room_cv.notify_all();
    m_data_cv.notify_all();
    m_thread.join();
    std::lock_guard<std::mutex> lock(m_mutex);
    m_closing = false;
    m_sink.reset();
    if (m_partial) {
        const Status renamed = capture_status([&] { m_partial->commit(); });
        if (m_error.ok() && !renamed.ok())
            m_error = renamed;
        m_partial.reset();
    }
    LIPAR_LOG_INFO("recording ", m_path, " closed: ", m_written, " frames");
    return m_error;
}

bool Recorder::active() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_accepting;
}

int64_t Recorder::frames_written() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_written;
}

std::vector<Recorder::Item> Recorder::compose(const std::vector<EngineOutput>& outputs) const {
    RecordContent content;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_accepting)
            return {};
        content = m_content;
    }
    std::vector<Item> items;
    items.reserve(outputs.size());
    for (const auto& out : outputs) {
        Item item;
        item.arrival_ns = out.arrival_ns;
        if (content == RecordContent::SideBySide) {
            const Frame& left = out.baseline.empty() ? out.input : out.baseline;
            item.frame = left.empty() ? out.output : side_by_side(left, out.output);
        } else {
            item.frame = out.output;
        }
        items.push_back(std::move(item));
    }
    return items;
}

void Recorder::write(std::vector<Item> items) {
    std::unique_lock<std::mutex> lock(m_mutex);
    for (auto& item : items) {
        m_room_cv.wait(lock, [&] { return !m_accepting || m_queue.size() < m_capacity; });
        if (!m_accepting)
            return;
        m_queue.push_back(std::move(item));
        m_data_cv.notify_all();
    }
}

void Recorder::run() {
    set_thread_name("lipar-recorder");
    std::unique_lock<std::mutex> lock(m_mutex);
    bool failed = false;
    for (;;) {
        m_data_cv.wait(lock, [&] { return !m_queue.empty() || m_closing; });
        if (m_queue.empty())
            break;  // closing and drained
        Item item = std::move(m_queue.front());
        m_queue.pop_front();
        m_room_cv.notify_all();
        if (failed)
            continue;
        lock.unlock();
        Status s = capture_status([&] { m_sink->write(item.frame); });
        if (s.ok() && m_on_written && item.arrival_ns != 0) {
            EngineOutput probe;
            probe.arrival_ns = item.arrival_ns;
            m_on_written(latency_to_now_ms(probe));
        }
        lock.lock();
        if (s.ok()) {
            ++m_written;
            continue;
        }
        failed = true;
        m_error = s;
        m_accepting = false;
        m_queue.clear();
        m_room_cv.notify_all();
        lock.unlock();
        LIPAR_LOG_ERROR("recording stopped: ", s.to_string());
        if (m_on_error)
            m_on_error(s);
        lock.lock();
    }
    lock.unlock();
    Status closed = capture_status([&] { m_sink->close(); });
    lock.lock();
    if (!closed.ok()) {
        if (m_error.ok())
            m_error = closed;
        lock.unlock();
        LIPAR_LOG_ERROR("recording: ", closed.to_string());
        if (m_on_error)
            m_on_error(closed);
    }
}

}  // namespace lipar::runtime
