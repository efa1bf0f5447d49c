#pragma once
// LIPAR Studio's main window: the preview in the middle, the source, editing and engine controls
// in a dock, the log in another, a status bar (source, model pack, device, engine state), and the
// settings that persist across runs. What commands do is StudioController's job.
//
// GUI thread only; it talks to the engine only through the EngineBridge.

#include <QMainWindow>
#include <QPointer>
#include <memory>

#include "engine_metatypes.h"
#include "studio_options.h"

class QLabel;
class QMessageBox;
class ControlPanel;
class EngineBridge;
class EngineConfigPanel;
class LogPanel;
class PreviewWidget;
class SettingsStore;
class SourcePicker;
class StudioActions;
class StudioController;

class MainWindow : public QMainWindow {
    Q_OBJECT

  public:
    explicit MainWindow(const StudioOptions& options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    EngineBridge* bridge() const { return m_bridge; }
    StudioController* controller() const { return m_controller; }
    PreviewWidget* preview() const { return m_preview; }
    ControlPanel* controls() const { return m_controls; }
    SourcePicker* sourcePicker() const { return m_sourcePicker; }
    EngineConfigPanel* configPanel() const { return m_configPanel; }
    LogPanel* logPanel() const { return m_log; }
    // The status bar's "encoding prompt ..." (hidden while no prompt is being encoded).
    QLabel* promptStatusLabel() const { return m_promptLabel; }
    StudioActions* actions() const { return m_actions; }

    void saveSettings();

  signals:
    // Every error the user is shown (the engine's and the window's own, e.g. a missing pack).
    void errorShown(const QString& title, const QString& what, const QString& advice);

  protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

  private:
    void buildLayout();
    void connectSignals();
    void restoreSettings(const StudioOptions& options);
    void onStats(const lipar::EngineStats& stats);
    void onState(lipar::EngineState state);
    void showError(const QString& title, const QString& what, const QString& advice);
    void showAbout();

    std::unique_ptr<SettingsStore> m_settings;
    EngineBridge* m_bridge = nullptr;
    StudioController* m_controller = nullptr;
    PreviewWidget* m_preview = nullptr;
    ControlPanel* m_controls = nullptr;
    SourcePicker* m_sourcePicker = nullptr;
    EngineConfigPanel* m_configPanel = nullptr;
    LogPanel* m_log = nullptr;
    StudioActions* m_actions = nullptr;
    QLabel* m_stateLabel = nullptr;
    QLabel* m_deviceLabel = nullptr;
    QLabel* m_packLabel = nullptr;
    QLabel* m_sourceLabel = nullptr;
    QLabel* m_promptLabel = nullptr;  // a new prompt being encoded
    QPointer<QMessageBox> m_errorBox;
    bool m_scripted = false;
};
