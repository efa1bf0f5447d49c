#include "media/camera.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/videodev2.h>
#include <sys/ioctl.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.h"
#ifdef LIPAR_HAVE_OPENCV
#include "media/opencv/opencv_camera.h"
#endif

namespace lipar::media {
namespace {

#ifdef __linux__
int xioctl(int fd, unsigned long request, void* arg) {
    int rc = 0;
    do {
        rc = ::ioctl(fd, request, arg);
    } while (rc == -1 && errno == EINTR);
    return rc;
}

// Fills name and sizes; false when the node is not a video capture device.
bool query_device(const std::string& path, CameraInfo& info) {
    const int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        LIPAR_LOG_DEBUG("cannot open ", path, ": ", std::strerror(errno));
        return false;
    }
    v4l2_capability cap{};
    bool capture = false;
    if (xioctl(fd, VIDIOC_QUERYCAP, &cap) == 0) {
        const uint32_t caps =
            (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
        capture = (caps & V4L2_CAP_VIDEO_CAPTURE) != 0;
        info.name.assign(reinterpret_cast<const char*>(cap.card),
                         strnlen(reinterpret_cast<const char*>(cap.card), sizeof(cap.card)));
    }
    if (capture) {
        for (uint32_t f = 0; f < 64; ++f) {
            v4l2_fmtdesc fmt{};
            fmt.index = f;
            fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            if (xioctl(fd, VIDIOC_ENUM_FMT, &fmt) != 0) {
                break;
            }
            for (uint32_t s = 0; s < 256; ++s) {
                v4l2_frmsizeenum size{};
                size.index = s;
                size.pixel_format = fmt.pixelformat;
                if (xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &size) != 0) {
                    break;
                }
                if (size.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
                    info.sizes.emplace_back(static_cast<int>(size.discrete.width),
                                            static_cast<int>(size.discrete.height));
                } else {  // stepwise/continuous: report the extremes
                    info.sizes.emplace_back(static_cast<int>(size.stepwise.min_width),
                                            static_cast<int>(size.stepwise.min_height));
                    info.sizes.emplace_back(static_cast<int>(size.stepwise.max_width),
                                            static_cast<int>(size.stepwise.max_height));
                    break;
                }
            }
        }
        std::sort(info.sizes.begin(), info.sizes.end(), [](const auto& a, const auto& b) {
            return static_cast<long>(a.first) * a.second < static_cast<long>(b.first) * b.second ||
                   (static_cast<long>(a.first) * a.second ==
                        static_cast<long>(b.first) * b.second &&
                    a.first < b.first);
        });
        info.sizes.erase(std::unique(info.sizes.begin(), info.sizes.end()), info.sizes.end());
    }
    ::close(fd);
    return capture;
}
#endif

}  // namespace

std::vector<CameraInfo> list_cameras() {
    std::vector<CameraInfo> cameras;
#ifdef __linux__
    DIR* dir = ::opendir("/dev");
    if (dir == nullptr) {
        return cameras;
    }
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (name.rfind("video", 0) != 0 || name.size() <= 5 ||
            name.find_first_not_of("0123456789", 5) != std::string::npos || name.size() > 12) {
            continue;
        }
        CameraInfo info{};
        info.index = std::stoi(name.substr(5));
        info.path = "/dev/" + name;
        if (query_device(info.path, info)) {
            cameras.push_back(std::move(info));
        }
    }
    ::closedir(dir);
    std::sort(cameras.begin(), cameras.end(),
              [](const CameraInfo& a, const CameraInfo& b) { return a.index < b.index; });
#endif
    return cameras;
}

std::unique_ptr<VideoSource> open_camera(int index, int width, int height) {
    LIPAR_CHECK(index >= 0, StatusCode::InvalidArgument, "camera index ", index,
                " must be >= 0 (the N of /dev/videoN)");
    LIPAR_CHECK(width >= 0 && height >= 0, StatusCode::InvalidArgument, "bad camera size ", width,
                "x", height);
#ifdef LIPAR_HAVE_OPENCV
    const std::string path = "/dev/video" + std::to_string(index);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        fail(StatusCode::NotFound, "no camera ", path);
    }
    return open_opencv_camera(index, path, width, height);
#else
    fail(StatusCode::Unsupported, "cannot open camera ", index,
         ": this build has no OpenCV (webcam capture needs it; install libopencv-dev and rebuild)");
#endif
}

}  // namespace lipar::media
