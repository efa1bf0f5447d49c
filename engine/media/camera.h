#pragma once
// Webcams. Listing uses V4L2 ioctls directly (no OpenCV); capture goes through OpenCV's V4L2
// backend when the build has OpenCV (LIPAR_HAVE_OPENCV).
//
// Threading: list_cameras() may run on any thread; a camera source is used by one thread at a
// time (the capture thread).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "media/video_source.h"

namespace lipar::media {

struct CameraInfo {
    int index;                               // N of /dev/videoN
    std::string name;                        // the driver's card name, e.g. "HD Webcam C615"
    std::string path;                        // /dev/videoN
    std::vector<std::pair<int, int>> sizes;  // discrete capture sizes (width, height), ascending
};

// Video capture devices under /dev, sorted by index; metadata-only nodes (no capture capability)
// are skipped. Never throws: unreadable devices are skipped with a debug log.
std::vector<CameraInfo> list_cameras();

// Opens /dev/video<index> asking for width x height (0: the driver's default); the source's info()
// reports the size the driver granted; is_live() is true and seek() throws Unsupported.
// Throws NotFound "no camera /dev/videoN" when absent, DeviceError when it cannot be opened,
// Unsupported in a build without OpenCV.
std::unique_ptr<VideoSource> open_camera(int index, int width, int height);

}  // namespace lipar::media
