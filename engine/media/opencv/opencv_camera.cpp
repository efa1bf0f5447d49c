#include "media/opencv/opencv_camera.h"

#include <chrono>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/log.h"

namespace lipar::media {
namespace {

class OpencvCamera : public VideoSource {
  public:
    OpencvCamera(int index, std::string path, int width, int height) : m_path(std::move(path)) {
        if (!m_capture.open(index, cv::CAP_V4L2)) {
            fail(StatusCode::DeviceError, "cannot open camera ", m_path,
                 " (busy, no permission, or not a capture device)");
        }
        if (width > 0 && height > 0) {
            m_capture.set(cv::CAP_PROP_FRAME_WIDTH, width);
            m_capture.set(cv::CAP_PROP_FRAME_HEIGHT, height);
        }
        m_info.width = static_cast<int>(m_capture.get(cv::CAP_PROP_FRAME_WIDTH));
        m_info.height = static_cast<int>(m_capture.get(cv::CAP_PROP_FRAME_HEIGHT));
        m_info.fps = m_capture.get(cv::CAP_PROP_FPS);
        if (!(m_info.fps > 0)) {
            m_info.fps = 30;
        }
        m_info.codec = "v4l2";
        m_info.container = "camera";
        m_info.frame_count = -1;
        if (width > 0 && height > 0 && (m_info.width != width || m_info.height != height)) {
            LIPAR_LOG_INFO(m_path, ": asked for ", width, "x", height, ", driver gives ",
                           m_info.width, "x", m_info.height);
        }
        m_start = std::chrono::steady_clock::now();
    }

    const VideoInfo& info() const override { return m_info; }
    bool is_live() const override { return true; }

    bool read(Frame& frame) override {
        if (!m_capture.read(m_bgr) || m_bgr.empty()) {
            fail(StatusCode::DeviceError, "camera ", m_path, " stopped delivering frames");
        }
        if (m_bgr.channels() == 1) {
            cv::Mat gray = m_bgr;
            cv::cvtColor(gray, m_bgr, cv::COLOR_GRAY2BGR);
        }
        LIPAR_CHECK(m_bgr.type() == CV_8UC3, StatusCode::DeviceError, "camera ", m_path,
                    " delivers an unsupported pixel type");
        frame.resize(m_bgr.cols, m_bgr.rows);
        cv::Mat rgb(m_bgr.rows, m_bgr.cols, CV_8UC3, frame.rgb.data(),
                    static_cast<size_t>(m_bgr.cols) * 3);
        cv::cvtColor(m_bgr, rgb, cv::COLOR_BGR2RGB);
        frame.index = m_next++;
        frame.pts_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
        m_info.width = frame.width;
        m_info.height = frame.height;
        return true;
    }

    void seek(int64_t) override {
        fail(StatusCode::Unsupported, "camera ", m_path, " is live and cannot seek");
    }

  private:
    std::string m_path;
    cv::VideoCapture m_capture;
    cv::Mat m_bgr;
    VideoInfo m_info;
    int64_t m_next = 0;
    std::chrono::steady_clock::time_point m_start;
};

}  // namespace

std::unique_ptr<VideoSource> open_opencv_camera(int index,
                                                const std::string& path,
                                                int width,
                                                int height) {
    return std::make_unique<OpencvCamera>(index, path, width, height);
}

}  // namespace lipar::media
