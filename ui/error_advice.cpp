#include "error_advice.h"

#include <QObject>

namespace {

bool mentions(const QString& text, const char* word) {
    return text.contains(QLatin1String(word), Qt::CaseInsensitive);
}

}  // namespace

ErrorAdvice::ErrorAdvice(const lipar::Status& status) : m_status(status) {}

QString ErrorAdvice::title() const {
    switch (m_status.code) {
        case lipar::StatusCode::NotFound:
            return QObject::tr("Not found");
        case lipar::StatusCode::InvalidArgument:
            return QObject::tr("Invalid setting");
        case lipar::StatusCode::IoError:
            return QObject::tr("Read or write failed");
        case lipar::StatusCode::FormatError:
            return QObject::tr("Unreadable file");
        case lipar::StatusCode::ShapeMismatch:
            return QObject::tr("Model pack does not fit");
        case lipar::StatusCode::Unsupported:
            return QObject::tr("Not supported");
        case lipar::StatusCode::OutOfMemory:
            return QObject::tr("Out of memory");
        case lipar::StatusCode::DeviceError:
            return QObject::tr("Device error");
        case lipar::StatusCode::Cancelled:
            return QObject::tr("Cancelled");
        case lipar::StatusCode::Ok:
        case lipar::StatusCode::Internal:
            break;
    }
    return QObject::tr("Engine error");
}

QString ErrorAdvice::what() const {
    const QString message = QString::fromStdString(m_status.message);
    return message.isEmpty() ? QString::fromLatin1(lipar::status_code_name(m_status.code))
                             : message;
}

QString ErrorAdvice::advice() const {
    const QString message = what();
    const bool aboutPack = mentions(message, "pack") || mentions(message, "manifest");
    const bool aboutCamera = mentions(message, "camera") || mentions(message, "/dev/video");
    switch (m_status.code) {
        case lipar::StatusCode::NotFound:
            if (aboutPack) {
                return QObject::tr(
                    "Choose a model pack directory (one that contains manifest.json) under "
                    "Engine > Model pack, or create an untrained test pack with "
                    "\"lipar pack init-random --config tiny --out DIR\".");
            }
            if (aboutCamera) {
                return QObject::tr(
                    "Connect the camera, press Refresh in the source list, or open a video "
                    "file instead.");
            }
            return QObject::tr("Check that the file exists and is readable, then try again.");
        case lipar::StatusCode::InvalidArgument:
            return QObject::tr("Correct the value named above in the control panel.");
        case lipar::StatusCode::IoError:
            return QObject::tr("Check free disk space and the permissions of the path.");
        case lipar::StatusCode::FormatError:
            return aboutPack ? QObject::tr(
                                   "The model pack is damaged: download or create it "
                                   "again.")
                             : QObject::tr(
                                   "The file is damaged or not a supported video; pick "
                                   "another file.");
        case lipar::StatusCode::ShapeMismatch:
            return QObject::tr(
                "The pack's files do not belong together or do not match the resolution; pick a "
                "resolution that is a multiple of 16, or reinstall the pack.");
        case lipar::StatusCode::Unsupported:
            return QObject::tr(
                "This build or device lacks what the message names (e.g. FFmpeg for video files, "
                "OpenCV for webcams, CUDA for GPUs); choose another option or rebuild with it.");
        case lipar::StatusCode::OutOfMemory:
            return QObject::tr(
                "Pick a smaller resolution preset or fewer steps, close other GPU programs, then "
                "start again.");
        case lipar::StatusCode::DeviceError:
            return aboutCamera ? QObject::tr(
                                     "Check that no other program uses the camera, or "
                                     "pick another camera or a video file.")
                               : QObject::tr(
                                     "Check the GPU driver (nvidia-smi), or choose "
                                     "device \"cpu\" under Engine and apply.");
        case lipar::StatusCode::Cancelled:
            return QObject::tr("Start again when ready.");
        case lipar::StatusCode::Ok:
        case lipar::StatusCode::Internal:
            break;
    }
    return QObject::tr(
        "This looks like a bug. Stop and start again; if it happens again, report it with the "
        "contents of the log panel.");
}
