#pragma once
// What the user's commands do: start/stop, switch source, apply parameters or engine settings,
// record, snapshot, compare. It ties the control widgets to the EngineBridge; the main window
// owns the widgets and shows what this reports (errorRaised, statusMessage).
//
// GUI thread only; nothing here waits on model work, files or devices: sources open and
// recordings start and finish in the EngineBridge's workers, snapshots are written on a thread
// of their own.

#include <QObject>
#include <QString>
#include <QThreadPool>

#include "engine_metatypes.h"

class ControlPanel;
class EngineBridge;
class EngineConfigPanel;
class LogPanel;
class PreviewWidget;
class SourcePicker;
class StudioActions;

class StudioController : public QObject {
    Q_OBJECT

  public:
    struct Widgets {
        EngineBridge* bridge = nullptr;
        PreviewWidget* preview = nullptr;
        ControlPanel* controls = nullptr;
        SourcePicker* sourcePicker = nullptr;
        EngineConfigPanel* configPanel = nullptr;
        LogPanel* log = nullptr;
        StudioActions* actions = nullptr;
    };

    StudioController(const Widgets& widgets, QObject* parent);
    ~StudioController() override;  // waits for a snapshot being written

    // Starts the engine with the panel's configuration and parameters and the picked source;
    // reports what is missing (pack, source) instead when it cannot.
    void startEngine();
    void stopEngine();
    void toggleRunning();
    // Stops a recording, or asks for a file and starts one.
    void toggleRecording();
    // The content follows the "Record side by side" toggle. False when the request was refused
    // (engine not running, a recording already open or being finished); the file itself opens
    // in the background (EngineBridge::recordingChanged, or its errorOccurred).
    bool startRecordingTo(const QString& path);
    // Asks for a stream address and sends the output there (it takes the recording's place;
    // Record stops it).
    void streamTo();
    // Records to path as soon as the engine is ready (--record).
    void setPendingRecording(const QString& path) { m_pendingRecording = path; }
    // Saves a PNG of the preview (default: the Pictures folder) in the background, under path
    // or, when that exists, the first free path-N name; snapshotSaved says where.
    void takeSnapshot(const QString& path = {});
    // Compare mode on, or back to the mode before it.
    void toggleCompare();

  signals:
    void errorRaised(const QString& title, const QString& what, const QString& advice);
    void statusMessage(const QString& text);
    void snapshotSaved(const QString& path);

  private:
    void onSourceRequested(const lipar::SourceSpec& source);
    void onParamsChanged(const lipar::EditParams& params);
    void onConfigApplied(const lipar::EngineConfig& config);
    void onState(lipar::EngineState state);
    void onRecordingChanged(bool recording);
    void onSourceOpened(const lipar::SourceSpec& source);
    void openSource(const lipar::SourceSpec& source);

    Widgets m_w;
    lipar::EditMode m_modeBeforeCompare = lipar::EditMode::Lipar;
    QString m_pendingRecording;
    QString m_recordingPath;
    QThreadPool m_snapshotWriter;  // one thread: snapshots are written in the order taken
};
