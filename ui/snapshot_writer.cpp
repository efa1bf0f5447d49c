#include "snapshot_writer.h"

#include <fcntl.h>
#include <unistd.h>
#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QObject>
#include <QTemporaryFile>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

enum class Placed { Done, Taken, Failed };

// Gives the file at from the name to, unless to exists: never replaces (unlike rename(2) and
// QSaveFile), and never copies (QFile::rename's fallback writes the target in place). from is
// gone after Done when the rename worked, still there when a hard link did it. *error: errno.
Placed placeWithoutReplacing(const QString& from,
                             const QString& to,
                             bool* fromRemains,
                             int* error) {
    const QByteArray source = QFile::encodeName(from);
    const QByteArray target = QFile::encodeName(to);
    *fromRemains = false;
    if (::renameat2(AT_FDCWD, source.constData(), AT_FDCWD, target.constData(), RENAME_NOREPLACE) ==
        0) {
        return Placed::Done;
    }
    *error = errno;
    if (*error == EEXIST) {
        return Placed::Taken;
    }
    if (*error != EINVAL && *error != ENOSYS) {
        return Placed::Failed;
    }
    // A file system without RENAME_NOREPLACE: a hard link is just as exclusive.
    if (::link(source.constData(), target.constData()) == 0) {
        *fromRemains = true;
        return Placed::Done;
    }
    *error = errno;
    return *error == EEXIST ? Placed::Taken : Placed::Failed;
}

}  // namespace

QString SnapshotWriter::numberedPath(const QString& wantedPath, int n) {
    if (n <= 0) {
        return wantedPath;
    }
    const QFileInfo info(wantedPath);
    const QString suffix = info.suffix();
    const QString name =
        suffix.isEmpty()
            ? QStringLiteral("%1-%2").arg(info.fileName()).arg(n)
            : QStringLiteral("%1-%2.%3").arg(info.completeBaseName()).arg(n).arg(suffix);
    return info.dir().filePath(name);
}

SnapshotWriter::Result SnapshotWriter::write(const QImage& image, const QString& wantedPath) {
    Result result;
    // Encoded before anything touches the disk: a failure leaves nothing behind.
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    if (image.isNull() || !image.save(&buffer, "PNG")) {
        result.error = QObject::tr("Could not encode the snapshot as PNG.");
        return result;
    }
    const QFileInfo wanted(wantedPath);
    const QString folder = wanted.absolutePath();
    if (!QDir().mkpath(folder)) {
        result.error = QObject::tr("Could not create the folder %1.").arg(folder);
        return result;
    }
    QTemporaryFile temporary(
        QDir(folder).filePath(QStringLiteral(".%1.XXXXXX").arg(wanted.fileName())));
    if (!temporary.open() || temporary.write(png) != png.size() || !temporary.flush() ||
        ::fsync(temporary.handle()) != 0) {
        result.error = QObject::tr("Could not write a temporary file in %1: %2")
                           .arg(folder, temporary.errorString());
        return result;  // the temporary file removes itself
    }
    // Like any new file (a temporary one is private to its owner).
    temporary.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                             QFileDevice::ReadGroup | QFileDevice::ReadOther);
    for (int n = 0; n <= kMaxNumber; ++n) {
        const QString candidate = numberedPath(wanted.absoluteFilePath(), n);
        bool temporaryRemains = false;
        int error = 0;
        const Placed placed =
            placeWithoutReplacing(temporary.fileName(), candidate, &temporaryRemains, &error);
        if (placed == Placed::Taken) {
            continue;
        }
        if (placed == Placed::Failed) {
            result.error = QObject::tr("Could not save the snapshot as %1: %2")
                               .arg(candidate, QString::fromLocal8Bit(std::strerror(error)));
            return result;
        }
        temporary.setAutoRemove(temporaryRemains);  // a hard link leaves the old name to remove
        result.path = candidate;
        return result;
    }
    result.error = QObject::tr(
                       "Could not save the snapshot: %1 and its numbered variants up to "
                       "-%2 exist already.")
                       .arg(wantedPath)
                       .arg(kMaxNumber);
    return result;
}
