#include "runtime/stats_window.h"

#include <algorithm>

namespace lipar::runtime {

StatsWindow::StatsWindow(double window_s, size_t capacity)
    : m_window(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(window_s))),
      m_ring(std::max<size_t>(capacity, 1)) {}

void StatsWindow::add(Clock::time_point t, double value, double weight) {
    m_ring[m_head] = Sample{t, value, weight};
    m_head = (m_head + 1) % m_ring.size();
    m_size = std::min(m_size + 1, m_ring.size());
}

void StatsWindow::clear() {
    m_head = 0;
    m_size = 0;
}

const StatsWindow::Sample& StatsWindow::at(size_t i) const {
    return m_ring[(m_head + m_ring.size() - m_size + i) % m_ring.size()];
}

double StatsWindow::rate(Clock::time_point now) const {
    double weight = 0.0;
    for (size_t i = m_size; i-- > 0;) {
        const Sample& s = at(i);
        if (s.t <= now - m_window)
            break;
        if (s.t <= now)
            weight += s.weight;
    }
    return weight / std::chrono::duration<double>(m_window).count();
}

double StatsWindow::mean(Clock::time_point now, double fallback) const {
    if (m_size == 0)
        return fallback;
    double sum = 0.0, weight = 0.0;
    for (size_t i = m_size; i-- > 0;) {
        const Sample& s = at(i);
        if (s.t <= now - m_window)
            break;
        sum += s.value * s.weight;
        weight += s.weight;
    }
    if (weight > 0.0)
        return sum / weight;
    return at(m_size - 1).value;
}

void StatsCollector::clear() {
    std::lock_guard<std::mutex> lock(m_mutex);
    for (StatsWindow* w : {&m_inputs, &m_outputs, &m_latency, &m_encode, &m_detect, &m_denoise,
                           &m_decode, &m_total, &m_baseline, &m_lipar}) {
        w->clear();
    }
    m_frames_in = m_frames_out = m_dropped = m_resets = 0;
    m_kept_ratio = 1.0;
    m_motion_x = m_motion_y = 0;
    m_prompt.clear();
    m_device.clear();
    m_pack.clear();
    m_untrained = false;
    m_styles.clear();
    m_text_status = nullptr;
    m_latency_tracker.clear();
    m_recorded_tracker.clear();
}

void StatsCollector::set_text_status_source(std::function<std::string()> source) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_text_status = std::move(source);
}

void StatsCollector::set_identity(const std::string& device,
                                  const std::string& pack,
                                  bool untrained,
                                  const std::vector<std::string>& styles) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_device = device;
    m_pack = pack;
    m_untrained = untrained;
    m_styles = styles;
}

void StatsCollector::on_input(Clock::time_point t) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_inputs.add(t);
    ++m_frames_in;
}

void StatsCollector::on_drop(int64_t frames) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_dropped += frames;
}

void StatsCollector::on_outputs(Clock::time_point t, const std::vector<double>& latencies_ms) {
    std::lock_guard<std::mutex> lock(m_mutex);
    for (double latency : latencies_ms) {
        m_outputs.add(t);
        m_latency.add(t, latency);
        m_latency_tracker.add(latency);
    }
    m_frames_out += static_cast<int64_t>(latencies_ms.size());
}

void StatsCollector::on_recorded(double latency_ms) {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_recorded_tracker.add(latency_ms);
}

void StatsCollector::on_block(Clock::time_point t, const BlockSample& b) {
    if (b.output_frames <= 0)
        return;
    std::lock_guard<std::mutex> lock(m_mutex);
    const double n = static_cast<double>(b.output_frames);
    m_encode.add(t, b.encode_ms / n, n);
    m_detect.add(t, b.detect_ms / n, n);
    m_denoise.add(t, b.denoise_ms / n, n);
    m_decode.add(t, b.decode_ms / n, n);
    m_total.add(t, b.total_ms / n, n);
    if (b.compare) {
        m_baseline.add(t, b.baseline_ms / n, n);
        m_lipar.add(t, (b.denoise_ms + b.decode_ms) / n, n);
    }
    m_kept_ratio = b.kept_ratio;
    m_motion_x = b.motion_x;
    m_motion_y = b.motion_y;
    m_prompt = b.prompt;
}

void StatsCollector::on_stream_reset() {
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_resets;
}

EngineStats StatsCollector::snapshot(Clock::time_point now) const {
    std::lock_guard<std::mutex> lock(m_mutex);
    EngineStats s;
    s.input_fps = m_inputs.rate(now);
    s.output_fps = m_outputs.rate(now);
    s.latency_ms = m_latency.mean(now);
    s.stages.encode_ms = m_encode.mean(now);
    s.stages.detect_ms = m_detect.mean(now);
    s.stages.denoise_ms = m_denoise.mean(now);
    s.stages.decode_ms = m_decode.mean(now);
    s.stages.total_ms = m_total.mean(now);
    s.dropped_frames = m_dropped;
    s.frames_in = m_frames_in;
    s.frames_out = m_frames_out;
    s.stream_resets = m_resets;
    s.kept_ratio = m_kept_ratio;
    s.motion_x = m_motion_x;
    s.motion_y = m_motion_y;
    s.prompt = m_prompt;
    s.baseline_ms_per_frame = m_baseline.mean(now);
    s.lipar_ms_per_frame = m_lipar.mean(now);
    s.device = m_device;
    s.pack_name = m_pack;
    s.untrained = m_untrained;
    s.styles = m_styles;
    s.latency = m_latency_tracker.summary();
    s.recorded_latency = m_recorded_tracker.summary();
    if (m_text_status) s.text_status = m_text_status();
    return s;
}

}  // namespace lipar::runtime
