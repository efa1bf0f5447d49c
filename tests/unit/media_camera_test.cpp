// Webcam listing and opening; this machine has no camera, so the absent-device paths are tested.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/error.h"
#include "media/camera.h"

namespace lipar::media {
namespace {

TEST(MediaCamera, list_cameras_reports_only_existing_capture_nodes) {
    const auto cameras = list_cameras();
    for (const CameraInfo& c : cameras) {
        EXPECT_EQ(c.path, "/dev/video" + std::to_string(c.index));
        struct stat st {};
        EXPECT_EQ(::stat(c.path.c_str(), &st), 0) << c.path;
    }
    struct stat st {};
    if (::stat("/dev/video0", &st) != 0) {
        for (const CameraInfo& c : cameras) {
            EXPECT_NE(c.index, 0);
        }
    }
}

TEST(MediaCamera, absent_camera_is_a_clean_error) {
    const int index = 63;
    struct stat st {};
    if (::stat("/dev/video63", &st) == 0) {
        GTEST_SKIP() << "/dev/video63 exists here";
    }
    try {
        open_camera(index, 640, 480);
        FAIL() << "no error";
    } catch (const Error& e) {
#ifdef LIPAR_HAVE_OPENCV
        EXPECT_EQ(e.code(), StatusCode::NotFound);
        EXPECT_NE(std::string(e.what()).find("no camera /dev/video63"), std::string::npos)
            << e.what();
#else
        EXPECT_EQ(e.code(), StatusCode::Unsupported);
#endif
    }
    EXPECT_THROW(open_camera(-1, 640, 480), Error);
}

}  // namespace
}  // namespace lipar::media
