#pragma once
// lipar-studio's command line, for scripted runs (tests, demos) and launchers:
//   lipar-studio --source FILE|camera:N[:WxH] --prompt TEXT --mode off|naive|lipar|compare
//                --pack DIR --resolution WxH --device cpu|cuda|auto --loop --autostart
//                --record FILE --screenshot PNG --quit-after-frames N
// Options given here override the saved settings for this run; a scripted run (--screenshot or
// --quit-after-frames) does not save settings.

#include <QSize>
#include <QString>
#include <QStringList>

struct StudioOptions {
    // Parses arguments (arguments[0] is the program). False with error set for a bad value.
    bool parse(const QStringList& arguments, QString* error);
    static QString helpText();

    bool helpRequested = false;
    bool versionRequested = false;
    QString source;
    QString prompt;
    bool hasPrompt = false;
    QString mode;
    QString pack;
    QString device;
    QSize resolution;  // empty: not given
    bool loop = false;
    bool autostart = false;
    QString record;
    QString screenshot;
    int quitAfterFrames = -1;  // -1: not given
    QString settingsFile;      // an INI file instead of the user's settings

    bool scripted() const { return quitAfterFrames >= 0 || !screenshot.isEmpty(); }
};
