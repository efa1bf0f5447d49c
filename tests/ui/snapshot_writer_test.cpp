// SnapshotWriter: a snapshot never replaces a file (the next free NAME-n name is taken, also when
// several are written at once), never appears half-written under its name (no temporary file is
// left over either), creates a missing folder, and reports what it could not write.
#include <QDir>
#include <QFile>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>
#include <thread>
#include <vector>

#include "snapshot_writer.h"

namespace {

QImage solidImage(QColor colour, int width = 48, int height = 32) {
    QImage image(width, height, QImage::Format_RGB32);
    image.fill(colour);
    return image;
}

QByteArray contents(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// Everything in the folder, hidden files (a leftover temporary) included.
QStringList entries(const QString& dir) {
    return QDir(dir).entryList(QDir::Files | QDir::Hidden | QDir::System, QDir::Name);
}

}  // namespace

class SnapshotWriterTest : public QObject {
    Q_OBJECT

  private slots:
    void writes_the_wanted_name_when_it_is_free() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("snap.png"));
        const SnapshotWriter::Result result = SnapshotWriter::write(solidImage(Qt::red), path);
        QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
        QCOMPARE(result.path, path);
        const QImage read(path);
        QCOMPARE(read.size(), QSize(48, 32));
        QCOMPARE(read.pixelColor(10, 10), QColor(Qt::red));
        QCOMPARE(entries(dir.path()), QStringList{QStringLiteral("snap.png")});
        // Readable by others like any new file, not private like a temporary one.
        QVERIFY(QFile::permissions(path).testFlag(QFileDevice::ReadOther));
    }

    void never_replaces_an_existing_file_and_takes_the_next_free_name() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("snap.png"));
        QFile existing(path);
        QVERIFY(existing.open(QIODevice::WriteOnly));
        existing.write("someone's picture");
        existing.close();
        QFile taken(dir.filePath(QStringLiteral("snap-2.png")));
        QVERIFY(taken.open(QIODevice::WriteOnly));
        taken.write("also taken");
        taken.close();

        const SnapshotWriter::Result first = SnapshotWriter::write(solidImage(Qt::green), path);
        QCOMPARE(first.path, dir.filePath(QStringLiteral("snap-1.png")));
        const SnapshotWriter::Result second = SnapshotWriter::write(solidImage(Qt::blue), path);
        QCOMPARE(second.path, dir.filePath(QStringLiteral("snap-3.png")));

        QCOMPARE(contents(path), QByteArray("someone's picture"));
        QCOMPARE(contents(taken.fileName()), QByteArray("also taken"));
        QCOMPARE(QImage(first.path).pixelColor(5, 5), QColor(Qt::green));
        QCOMPARE(QImage(second.path).pixelColor(5, 5), QColor(Qt::blue));
        QCOMPARE(entries(dir.path()),
                 QStringList({"snap-1.png", "snap-2.png", "snap-3.png", "snap.png"}));
    }

    void snapshots_written_at_once_all_get_their_own_file() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("race.png"));
        constexpr int kWriters = 8;
        std::vector<SnapshotWriter::Result> results(kWriters);
        std::vector<std::thread> writers;
        for (int i = 0; i < kWriters; ++i) {
            writers.emplace_back([&results, &path, i] {
                results[static_cast<size_t>(i)] =
                    SnapshotWriter::write(solidImage(QColor(20 * i, 10, 200)), path);
            });
        }
        for (std::thread& writer : writers) {
            writer.join();
        }
        QSet<QString> paths;
        for (int i = 0; i < kWriters; ++i) {
            const SnapshotWriter::Result& result = results[static_cast<size_t>(i)];
            QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
            paths.insert(result.path);
            // Each file holds the image of the writer that got its name.
            QCOMPARE(QImage(result.path).pixelColor(1, 1), QColor(20 * i, 10, 200));
        }
        QCOMPARE(paths.size(), kWriters);
        QCOMPARE(entries(dir.path()).size(), kWriters);
        QVERIFY(paths.contains(path));
        QVERIFY(paths.contains(dir.filePath(QStringLiteral("race-7.png"))));
    }

    void creates_a_missing_folder() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("new/pictures/snap.png"));
        const SnapshotWriter::Result result = SnapshotWriter::write(solidImage(Qt::gray), path);
        QCOMPARE(result.path, path);
        QCOMPARE(QImage(path).size(), QSize(48, 32));
    }

    void what_cannot_be_written_is_reported_and_leaves_nothing() {
        QTemporaryDir dir;
        QFile file(dir.filePath(QStringLiteral("a-file")));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        const SnapshotWriter::Result blocked =
            SnapshotWriter::write(solidImage(Qt::red), file.fileName() + QStringLiteral("/x.png"));
        QVERIFY(blocked.path.isEmpty());
        QVERIFY2(blocked.error.contains(file.fileName()), qPrintable(blocked.error));

        const SnapshotWriter::Result empty =
            SnapshotWriter::write(QImage(), dir.filePath(QStringLiteral("empty.png")));
        QVERIFY(empty.path.isEmpty());
        QVERIFY(!empty.error.isEmpty());
        QCOMPARE(entries(dir.path()), QStringList{QStringLiteral("a-file")});
    }

    void numbered_names_keep_the_extension() {
        QCOMPARE(SnapshotWriter::numberedPath(QStringLiteral("/p/snap.png"), 0),
                 QStringLiteral("/p/snap.png"));
        QCOMPARE(SnapshotWriter::numberedPath(QStringLiteral("/p/snap.png"), 12),
                 QStringLiteral("/p/snap-12.png"));
        QCOMPARE(SnapshotWriter::numberedPath(QStringLiteral("/p/shot.v2.png"), 1),
                 QStringLiteral("/p/shot.v2-1.png"));
        QCOMPARE(SnapshotWriter::numberedPath(QStringLiteral("/p/snap"), 3),
                 QStringLiteral("/p/snap-3"));
    }
};

QTEST_MAIN(SnapshotWriterTest)
#include "snapshot_writer_test.moc"
