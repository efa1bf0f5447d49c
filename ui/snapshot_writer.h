#pragma once
// Saves a snapshot as PNG without ever replacing a file or leaving a half-written one under the
// final name. The PNG goes to a hidden temporary file in the target folder first (flushed to
// disk), which is then renamed to the first free name of NAME.EXT, NAME-1.EXT, NAME-2.EXT, ...
// The rename itself refuses to replace (renameat2 with RENAME_NOREPLACE, or link where a file
// system lacks it), so a file that appears under that name meanwhile is kept too and the next
// name is taken. (QSaveFile writes through a temporary file as well, but its commit replaces
// whatever is at the name by then.)
//
// Threads: write() touches only its arguments and the file system; any thread may call it.

#include <QImage>
#include <QString>

class SnapshotWriter {
  public:
    static constexpr int kMaxNumber = 9999;

    struct Result {
        QString path;   // where it was written; empty on failure
        QString error;  // what went wrong, naming the file or folder
    };

    // Creates the folder of wantedPath when it is missing.
    static Result write(const QImage& image, const QString& wantedPath);
    // wantedPath for 0, else NAME-n.EXT ("snap.png", 2 -> "snap-2.png").
    static QString numberedPath(const QString& wantedPath, int n);
};
