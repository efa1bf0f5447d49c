// lipar-studio: the Qt 6 desktop application (widgets in ui/, engine behind lipar/engine.h).
#include <QApplication>
#include <QTextStream>
#include <QTimer>

#include <cstdio>
#include <cstring>

#include "lipar/cpu_tuning.h"
#include "lipar/gpu_env.h"
#include "main_window.h"
#include "script_driver.h"
#include "studio_controller.h"
#include "studio_options.h"

int main(int argc, char** argv) {
    // --version works without a display (QApplication would abort without one).
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--version") == 0) {
            std::printf("lipar-studio %s\n", LIPAR_STUDIO_VERSION);
            return 0;
        }
    }
    lipar::tune_blas_for_this_cpu(argv);  // may re-exec this program (see lipar/cpu_tuning.h)
    lipar::keep_nvlink_multicast_off();
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("lipar"));
    QApplication::setApplicationName(QStringLiteral("lipar-studio"));
    QApplication::setApplicationDisplayName(QStringLiteral("LIPAR Studio"));
    QApplication::setApplicationVersion(QStringLiteral(LIPAR_STUDIO_VERSION));

    StudioOptions options;
    QString error;
    if (!options.parse(QApplication::arguments(), &error)) {
        QTextStream(stderr) << "lipar-studio: " << error << "\n\n" << StudioOptions::helpText();
        return 2;
    }
    if (options.helpRequested) {
        QTextStream(stdout) << StudioOptions::helpText();
        return 0;
    }
    if (options.versionRequested) {
        QTextStream(stdout) << "lipar-studio " << LIPAR_STUDIO_VERSION << "\n";
        return 0;
    }

    MainWindow window(options);
    std::unique_ptr<ScriptDriver> driver;
    if (options.scripted()) {
        driver =
            std::make_unique<ScriptDriver>(&window, options.screenshot, options.quitAfterFrames);
    }
    window.show();
    if (options.autostart) {
        QTimer::singleShot(0, window.controller(), &StudioController::startEngine);
    }
    return QApplication::exec();
}
