#pragma once
// Choosing what to edit: a webcam from lipar::list_cameras() (with its capture sizes), or a
// video file (open dialog, recent files, loop playback). Picking a source emits sourceRequested;
// the main window opens it in the running engine (Engine::open_source) or starts one.
//
// GUI thread only; the cameras are queried on a thread of its own (a device that does not answer
// must not freeze the window) and shown when the answer comes (camerasListed).

#include <QStringList>
#include <QThreadPool>
#include <QWidget>
#include <vector>

#include "engine_metatypes.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;

class SourcePicker : public QWidget {
    Q_OBJECT

  public:
    static constexpr int kMaxRecentFiles = 10;

    explicit SourcePicker(QWidget* parent = nullptr);
    ~SourcePicker() override;  // waits for a camera query in progress

    // "camera:N" or "camera:N:WxH" for a webcam, anything else is a file path. An unparsable
    // camera spec gives Kind::Invalid.
    static lipar::SourceSpec parseSource(const QString& text, bool loop);
    // The inverse of parseSource (for settings and the status bar).
    static QString describeSource(const lipar::SourceSpec& source);

    // Lists the cameras again (V4L2 queries) in the background; camerasListed when done.
    void refreshCameras();
    void setCameras(const std::vector<lipar::CameraDescription>& cameras);
    int cameraCount() const { return static_cast<int>(m_cameras.size()); }

    bool hasSource() const { return m_source.kind != lipar::SourceSpec::Kind::Invalid; }
    lipar::SourceSpec currentSource() const { return m_source; }
    // Shows source as the current one, without sourceRequested (settings, command line).
    void setSource(const lipar::SourceSpec& source);

    // Picks a file (also from drag and drop) and emits sourceRequested.
    void openFile(const QString& path);
    // Picks the selected camera with the selected size and emits sourceRequested.
    void useSelectedCamera();

    QStringList recentFiles() const { return m_recent; }
    void setRecentFiles(const QStringList& files);
    bool loop() const;
    void setLoop(bool loop);

  signals:
    void sourceRequested(const lipar::SourceSpec& source);
    void camerasListed();

  private:
    void browseFile();
    void updateCameraSizes();
    void rememberFile(const QString& path);
    void updateCurrentLabel();

    QComboBox* m_cameraBox = nullptr;
    QComboBox* m_sizeBox = nullptr;
    QPushButton* m_useCamera = nullptr;
    QComboBox* m_recentBox = nullptr;
    QCheckBox* m_loop = nullptr;
    QLabel* m_current = nullptr;
    std::vector<lipar::CameraDescription> m_cameras;
    QStringList m_recent;
    lipar::SourceSpec m_source;
    QThreadPool m_cameraQuery;
};
