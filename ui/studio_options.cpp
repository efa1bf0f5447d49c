#include "studio_options.h"

#include <QCommandLineParser>

#include "lipar/params.h"

namespace {

struct Options {
    QCommandLineOption source{QStringLiteral("source"),
                              QStringLiteral("A video file, or camera:N[:WxH] for /dev/videoN."),
                              QStringLiteral("FILE|camera:N")};
    QCommandLineOption prompt{QStringLiteral("prompt"), QStringLiteral("The edit prompt."),
                              QStringLiteral("TEXT")};
    QCommandLineOption mode{QStringLiteral("mode"),
                            QStringLiteral("off (baseline), naive, lipar or compare."),
                            QStringLiteral("MODE")};
    QCommandLineOption pack{QStringLiteral("pack"),
                            QStringLiteral("Model pack directory (with manifest.json)."),
                            QStringLiteral("DIR")};
    QCommandLineOption resolution{QStringLiteral("resolution"),
                                  QStringLiteral("Model resolution, multiples of 16."),
                                  QStringLiteral("WxH")};
    QCommandLineOption device{QStringLiteral("device"),
                              QStringLiteral("auto, cpu, cuda or cuda:N."),
                              QStringLiteral("DEVICE")};
    QCommandLineOption loop{QStringLiteral("loop"), QStringLiteral("Loop the video file.")};
    QCommandLineOption autostart{QStringLiteral("autostart"),
                                 QStringLiteral("Start the engine at launch.")};
    QCommandLineOption record{QStringLiteral("record"),
                              QStringLiteral("Record the output once running (.mp4/.mkv/.y4m)."),
                              QStringLiteral("FILE")};
    QCommandLineOption screenshot{
        QStringLiteral("screenshot"),
        QStringLiteral("Save a PNG of the main window after the frames of --quit-after-frames."),
        QStringLiteral("PNG")};
    QCommandLineOption quitAfterFrames{QStringLiteral("quit-after-frames"),
                                       QStringLiteral("Quit (exit code 0) after N output frames."),
                                       QStringLiteral("N")};
    QCommandLineOption settings{QStringLiteral("settings"),
                                QStringLiteral("Use this INI file for the settings."),
                                QStringLiteral("FILE")};

    void addTo(QCommandLineParser& parser) const {
        parser.addOptions({source, prompt, mode, pack, resolution, device, loop, autostart, record,
                           screenshot, quitAfterFrames, settings});
    }
};

void describe(QCommandLineParser& parser, const Options& options) {
    parser.setApplicationDescription(QStringLiteral(
        "LIPAR Studio: real-time prompt-driven video editing with inter-frame pruning."));
    parser.addHelpOption();
    parser.addVersionOption();
    options.addTo(parser);
}

}  // namespace

bool StudioOptions::parse(const QStringList& arguments, QString* error) {
    QCommandLineParser parser;
    const Options options;
    describe(parser, options);
    if (!parser.parse(arguments)) {
        *error = parser.errorText();
        return false;
    }
    helpRequested = parser.isSet(QStringLiteral("help"));
    versionRequested = parser.isSet(QStringLiteral("version"));
    if (!parser.positionalArguments().isEmpty()) {
        *error = QStringLiteral("unexpected argument '%1' (use --source FILE)")
                     .arg(parser.positionalArguments().first());
        return false;
    }
    source = parser.value(options.source);
    hasPrompt = parser.isSet(options.prompt);
    prompt = parser.value(options.prompt);
    mode = parser.value(options.mode);
    if (!mode.isEmpty() && lipar::parse_edit_mode(mode.toStdString()) == lipar::EditMode::Invalid) {
        *error = QStringLiteral("--mode '%1' must be off, naive, lipar or compare").arg(mode);
        return false;
    }
    pack = parser.value(options.pack);
    device = parser.value(options.device);
    if (parser.isSet(options.resolution)) {
        const QStringList parts = parser.value(options.resolution).split(QLatin1Char('x'));
        bool okWidth = false;
        bool okHeight = false;
        const int width = parts.size() == 2 ? parts[0].toInt(&okWidth) : 0;
        const int height = parts.size() == 2 ? parts[1].toInt(&okHeight) : 0;
        if (!okWidth || !okHeight || width <= 0 || height <= 0 || width % 16 != 0 ||
            height % 16 != 0) {
            *error = QStringLiteral(
                         "--resolution '%1' must be WxH with multiples of 16, e.g. "
                         "640x368")
                         .arg(parser.value(options.resolution));
            return false;
        }
        resolution = QSize(width, height);
    }
    loop = parser.isSet(options.loop);
    autostart = parser.isSet(options.autostart);
    record = parser.value(options.record);
    screenshot = parser.value(options.screenshot);
    if (parser.isSet(options.quitAfterFrames)) {
        bool ok = false;
        quitAfterFrames = parser.value(options.quitAfterFrames).toInt(&ok);
        if (!ok || quitAfterFrames < 1) {
            *error = QStringLiteral("--quit-after-frames '%1' must be a positive number")
                         .arg(parser.value(options.quitAfterFrames));
            return false;
        }
    }
    settingsFile = parser.value(options.settings);
    return true;
}

QString StudioOptions::helpText() {
    QCommandLineParser parser;
    const Options options;
    describe(parser, options);
    return parser.helpText();
}
