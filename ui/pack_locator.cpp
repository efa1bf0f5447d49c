#include "pack_locator.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

#ifndef LIPAR_DEFAULT_PACK_DIR
#define LIPAR_DEFAULT_PACK_DIR ""
#endif

QStringList PackLocator::candidates() {
    QStringList dirs;
    const QString fromEnvironment = qEnvironmentVariable("LIPAR_PACK");
    if (!fromEnvironment.isEmpty()) {
        dirs << fromEnvironment;
    }
    if (QCoreApplication::instance() != nullptr) {
        dirs << QDir::cleanPath(QCoreApplication::applicationDirPath() +
                                QStringLiteral("/../share/lipar-studio/packs/default"));
    }
    const QString buildDefault = QString::fromUtf8(LIPAR_DEFAULT_PACK_DIR);
    if (!buildDefault.isEmpty()) {
        dirs << buildDefault;
    }
    return dirs;
}

QString PackLocator::defaultPackDir() {
    const QStringList dirs = candidates();
    for (const QString& dir : dirs) {
        if (isPack(dir)) {
            return dir;
        }
    }
    return dirs.isEmpty() ? QString() : dirs.first();
}

bool PackLocator::isPack(const QString& dir) {
    return !dir.isEmpty() &&
           QFileInfo(QDir(dir).filePath(QStringLiteral("manifest.json"))).isFile();
}

QString PackLocator::missingPackMessage(const QString& dir) {
    const QString where = dir.isEmpty() ? QObject::tr("(no directory chosen)") : dir;
    return QObject::tr(
               "No model pack at %1 (a pack is a directory with a manifest.json).\n\n"
               "Choose one under Engine > Model pack, set LIPAR_PACK, or create an untrained "
               "test pack with:\n  lipar pack init-random --config tiny --out %2")
        .arg(where, dir.isEmpty() ? QStringLiteral("DIR") : dir);
}
