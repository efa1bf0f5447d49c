#include "studio_controller.h"

#include <QInputDialog>
#include <QLineEdit>

#include <algorithm>

#include <QAction>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QStandardPaths>

#include "control_panel.h"
#include "engine_bridge.h"
#include "engine_config_panel.h"
#include "log_panel.h"
#include "pack_locator.h"
#include "preview_widget.h"
#include "snapshot_writer.h"
#include "source_picker.h"
#include "studio_actions.h"

namespace {

QString timestamp(const char* format) {
    return QDateTime::currentDateTime().toString(QString::fromLatin1(format));
}

}  // namespace

StudioController::StudioController(const Widgets& widgets, QObject* parent)
    : QObject(parent), m_w(widgets) {
    m_snapshotWriter.setMaxThreadCount(1);
    connect(m_w.sourcePicker, &SourcePicker::sourceRequested, this,
            &StudioController::onSourceRequested);
    connect(m_w.controls, &ControlPanel::paramsChanged, this, &StudioController::onParamsChanged);
    connect(m_w.configPanel, &EngineConfigPanel::applyRequested, this,
            &StudioController::onConfigApplied);
    connect(m_w.bridge, &EngineBridge::stateChanged, this, &StudioController::onState);
    connect(m_w.bridge, &EngineBridge::recordingChanged, this,
            &StudioController::onRecordingChanged);
    connect(m_w.bridge, &EngineBridge::recordingBusyChanged, m_w.actions,
            &StudioActions::setRecordingBusy);
    connect(m_w.bridge, &EngineBridge::sourceOpened, this, &StudioController::onSourceOpened);

    connect(m_w.actions->start, &QAction::triggered, this, &StudioController::toggleRunning);
    connect(m_w.actions->record, &QAction::triggered, this, &StudioController::toggleRecording);
    connect(m_w.actions->snapshot, &QAction::triggered, this, [this] { takeSnapshot(); });
    connect(m_w.actions->streamTo, &QAction::triggered, this, &StudioController::streamTo);
    connect(m_w.actions->compare, &QAction::triggered, this, &StudioController::toggleCompare);
}

StudioController::~StudioController() {
    m_snapshotWriter.waitForDone();
}

void StudioController::startEngine() {
    const lipar::EngineConfig config = m_w.configPanel->engineConfig();
    const QString pack = QString::fromStdString(config.pack);
    if (!PackLocator::isPack(pack)) {
        const QString message = PackLocator::missingPackMessage(pack);
        m_w.preview->setPlaceholderText(message);
        emit errorRaised(tr("No model pack"),
                         tr("No model pack at %1 (no manifest.json there).")
                             .arg(pack.isEmpty() ? tr("(none chosen)") : pack),
                         message.section(QStringLiteral("\n\n"), 1));
        return;
    }
    if (!m_w.sourcePicker->hasSource()) {
        m_w.preview->setPlaceholderText(
            tr("No source. Pick a camera or open a video file (or drop one here)."));
        emit statusMessage(tr("Pick a source first"));
        return;
    }
    m_w.preview->clearFrames();
    m_w.preview->setPlaceholderText(tr("Loading the model pack %1 ...").arg(pack));
    if (!m_w.bridge->start(config, m_w.controls->editParams())) {
        return;
    }
    const QString size = config.width > 0
                             ? QStringLiteral("%1x%2").arg(config.width).arg(config.height)
                             : tr("the pack's resolution");
    m_w.log->appendMessage(lipar::LogLevel::Info,
                           tr("Engine started: pack %1 at %2 on device %3")
                               .arg(pack, size, QString::fromStdString(config.device)));
    openSource(m_w.sourcePicker->currentSource());
}

void StudioController::openSource(const lipar::SourceSpec& source) {
    if (m_w.bridge->openSource(source)) {
        emit statusMessage(tr("Opening %1 ...").arg(SourcePicker::describeSource(source)));
    }
}

void StudioController::onSourceOpened(const lipar::SourceSpec& source) {
    const QString text = tr("Source: %1").arg(SourcePicker::describeSource(source));
    m_w.log->appendMessage(lipar::LogLevel::Info, text);
    emit statusMessage(text);
}

void StudioController::stopEngine() {
    if (m_w.bridge->isActive()) {
        m_w.bridge->stop();
        m_w.log->appendMessage(lipar::LogLevel::Info, tr("Engine stopped"));
    }
}

void StudioController::toggleRunning() {
    if (m_w.bridge->isActive()) {
        stopEngine();
    } else {
        startEngine();
    }
}

void StudioController::toggleRecording() {
    if (m_w.bridge->isRecording()) {
        m_w.bridge->stopRecording();
        return;
    }
    m_w.actions->setRecording(false);
    if (m_w.bridge->isRecordingBusy()) {
        return;  // a file is being opened or finished (the action is disabled meanwhile)
    }
    if (!m_w.bridge->isActive()) {
        emit statusMessage(tr("Start the engine (Space) before recording"));
        return;
    }
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::MoviesLocation);
    const QString name = QStringLiteral("lipar-%1.mp4").arg(timestamp("yyyyMMdd-HHmmss"));
    const QString path = QFileDialog::getSaveFileName(
        m_w.preview->window(), tr("Record to"), QDir(dir).filePath(name),
        tr("Fragmented MP4 (*.mp4);;Matroska (*.mkv);;Raw Y4M (*.y4m)"));
    if (!path.isEmpty()) {
        startRecordingTo(path);
    }
}

void StudioController::streamTo() {
    if (m_w.bridge->isRecording() || m_w.bridge->isRecordingBusy()) {
        emit statusMessage(tr("Stop the recording or stream in progress first (Ctrl+R)"));
        return;
    }
    if (!m_w.bridge->isActive()) {
        emit statusMessage(tr("Start the engine (Space) before streaming"));
        return;
    }
    bool ok = false;
    const QString url = QInputDialog::getText(
        m_w.preview->window(), tr("Stream to"),
        tr("Address (OBS: add a Media Source with the same address, e.g. srt://127.0.0.1:9000?mode=listener):"),
        QLineEdit::Normal, QStringLiteral("srt://127.0.0.1:9000"), &ok).trimmed();
    if (!ok || url.isEmpty()) {
        return;
    }
    static const QStringList schemes = {QStringLiteral("srt://"), QStringLiteral("udp://"),
                                        QStringLiteral("rtmp://"), QStringLiteral("rtmps://"),
                                        QStringLiteral("tcp://")};
    const bool known = std::any_of(schemes.begin(), schemes.end(), [&](const QString& s) {
        return url.startsWith(s, Qt::CaseInsensitive);
    });
    if (!known) {
        emit statusMessage(tr("'%1' is not a stream address (srt://, udp:// or rtmp://)").arg(url));
        return;
    }
    startRecordingTo(url);
}

bool StudioController::startRecordingTo(const QString& path) {
    const lipar::RecordContent content = m_w.actions->recordSideBySide->isChecked()
                                             ? lipar::RecordContent::SideBySide
                                             : lipar::RecordContent::Output;
    if (!m_w.bridge->startRecording(path, content)) {
        return false;
    }
    m_recordingPath = path;
    return true;
}

void StudioController::takeSnapshot(const QString& path) {
    QString target = path;
    if (target.isEmpty()) {
        QString dir = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
        if (dir.isEmpty()) {
            dir = QDir::homePath();
        }
        target = QDir(dir).filePath(
            QStringLiteral("lipar-snapshot-%1.png").arg(timestamp("yyyyMMdd-HHmmss-zzz")));
    }
    // Grabbed here (widgets belong to the GUI thread), encoded and written there.
    const QImage image = m_w.preview->grab().toImage();
    m_snapshotWriter.start([this, image, target] {
        const SnapshotWriter::Result result = SnapshotWriter::write(image, target);
        QMetaObject::invokeMethod(
            this,
            [this, result] {
                if (result.path.isEmpty()) {
                    emit errorRaised(tr("Snapshot failed"), result.error,
                                     tr("Check free disk space and the permissions of the "
                                        "folder."));
                    return;
                }
                emit statusMessage(tr("Snapshot saved to %1").arg(result.path));
                m_w.log->appendMessage(lipar::LogLevel::Info,
                                       tr("Snapshot saved to %1").arg(result.path));
                emit snapshotSaved(result.path);
            },
            Qt::QueuedConnection);
    });
}

void StudioController::toggleCompare() {
    if (m_w.controls->mode() == lipar::EditMode::Compare) {
        m_w.controls->setMode(m_modeBeforeCompare);
    } else {
        m_modeBeforeCompare = m_w.controls->mode();
        m_w.controls->setMode(lipar::EditMode::Compare);
    }
    m_w.actions->setCompare(m_w.controls->mode() == lipar::EditMode::Compare);
}

void StudioController::onSourceRequested(const lipar::SourceSpec& source) {
    if (!m_w.bridge->isActive()) {
        startEngine();
        return;
    }
    openSource(source);
}

void StudioController::onParamsChanged(const lipar::EditParams& params) {
    m_w.actions->setCompare(params.mode == lipar::EditMode::Compare);
    const std::string invalid = params.validate();
    if (!invalid.empty()) {
        emit statusMessage(QString::fromStdString(invalid));
        return;
    }
    m_w.bridge->setParams(params);
}

void StudioController::onConfigApplied(const lipar::EngineConfig& config) {
    const QString pack = QString::fromStdString(config.pack);
    if (m_w.bridge->isActive()) {
        m_w.log->appendMessage(lipar::LogLevel::Info, tr("Restarting the engine"));
        startEngine();  // the bridge stops the running engine first
    } else if (!PackLocator::isPack(pack)) {
        m_w.preview->setPlaceholderText(PackLocator::missingPackMessage(pack));
    } else {
        m_w.preview->setPlaceholderText(tr("Ready. Pick a source and press Start (Space)."));
    }
}

void StudioController::onState(lipar::EngineState state) {
    m_w.actions->setRunning(m_w.bridge->isActive());
    if (state == lipar::EngineState::Finished) {
        m_w.log->appendMessage(lipar::LogLevel::Info, tr("The source ended"));
    }
    if ((state == lipar::EngineState::Ready || state == lipar::EngineState::Running) &&
        !m_pendingRecording.isEmpty()) {
        const QString path = m_pendingRecording;
        m_pendingRecording.clear();
        startRecordingTo(path);
    }
}

void StudioController::onRecordingChanged(bool recording) {
    m_w.actions->setRecording(recording);
    m_w.preview->setRecording(recording);
    const bool stream = m_recordingPath.contains(QStringLiteral("://"));
    m_w.log->appendMessage(lipar::LogLevel::Info,
                           recording ? (stream ? tr("Streaming to %1") : tr("Recording to %1"))
                                           .arg(m_recordingPath)
                           : stream ? tr("Stream to %1 stopped").arg(m_recordingPath)
                                    : tr("Recording stopped; finishing %1").arg(m_recordingPath));
}
