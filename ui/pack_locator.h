#pragma once
// Where lipar-studio looks for a model pack when none was chosen: $LIPAR_PACK, else the
// installed default (<prefix>/share/lipar-studio/packs/default next to bin/), else the build
// tree's packs/default (LIPAR_DEFAULT_PACK_DIR, created at setup time).

#include <QString>
#include <QStringList>

class PackLocator {
  public:
    // The candidates in order of preference (existing or not).
    static QStringList candidates();
    // The first candidate that is a pack; if none is, the first candidate (so that messages can
    // name where a pack was expected).
    static QString defaultPackDir();
    // A directory with a manifest.json.
    static bool isPack(const QString& dir);
    // What to tell the user when dir is not a pack: what is missing and what to do.
    static QString missingPackMessage(const QString& dir);
};
