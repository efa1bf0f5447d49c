#pragma once
// Webcam capture through OpenCV's V4L2 backend. Only compiled with LIPAR_HAVE_OPENCV.

#include <memory>
#include <string>

#include "media/video_source.h"

namespace lipar::media {

// `path` is /dev/video<index>, already known to exist. Throws DeviceError when it cannot be opened.
std::unique_ptr<VideoSource> open_opencv_camera(int index,
                                                const std::string& path,
                                                int width,
                                                int height);

}  // namespace lipar::media
