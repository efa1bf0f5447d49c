#include "source_picker.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QLabel>
#include <QPushButton>
#include <QRegularExpression>
#include <QSignalBlocker>

SourcePicker::SourcePicker(QWidget* parent) : QWidget(parent) {
    m_cameraBox = new QComboBox(this);
    m_sizeBox = new QComboBox(this);
    auto* refresh = new QPushButton(tr("Refresh"), this);
    m_useCamera = new QPushButton(tr("Use camera"), this);

    auto* openButton = new QPushButton(tr("Open video..."), this);
    m_recentBox = new QComboBox(this);
    m_recentBox->setPlaceholderText(tr("Recent files"));
    m_recentBox->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_recentBox->setMinimumContentsLength(16);
    m_loop = new QCheckBox(tr("Loop"), this);
    m_loop->setToolTip(tr("Start the file over at its end (applies when a file is opened)"));
    m_current = new QLabel(this);
    m_current->setWordWrap(true);
    m_current->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* grid = new QGridLayout(this);
    grid->addWidget(new QLabel(tr("Camera"), this), 0, 0);
    grid->addWidget(m_cameraBox, 0, 1, 1, 2);
    grid->addWidget(refresh, 0, 3);
    grid->addWidget(m_sizeBox, 1, 1, 1, 2);
    grid->addWidget(m_useCamera, 1, 3);
    grid->addWidget(new QLabel(tr("File"), this), 2, 0);
    grid->addWidget(m_recentBox, 2, 1);
    grid->addWidget(m_loop, 2, 2);
    grid->addWidget(openButton, 2, 3);
    grid->addWidget(m_current, 3, 0, 1, 4);
    grid->setColumnStretch(1, 1);

    connect(refresh, &QPushButton::clicked, this, &SourcePicker::refreshCameras);
    connect(m_useCamera, &QPushButton::clicked, this, &SourcePicker::useSelectedCamera);
    connect(m_cameraBox, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &SourcePicker::updateCameraSizes);
    connect(openButton, &QPushButton::clicked, this, &SourcePicker::browseFile);
    connect(m_recentBox, qOverload<int>(&QComboBox::activated), this, [this](int index) {
        if (index >= 0 && index < m_recent.size()) {
            openFile(m_recent.at(index));
        }
    });
    connect(m_loop, &QCheckBox::toggled, this, [this](bool loop) {
        if (m_source.kind == lipar::SourceSpec::Kind::File) {
            m_source.loop = loop;
        }
    });
    updateCurrentLabel();
    m_cameraQuery.setMaxThreadCount(1);
}

SourcePicker::~SourcePicker() {
    m_cameraQuery.waitForDone();
}

lipar::SourceSpec SourcePicker::parseSource(const QString& text, bool loop) {
    static const QRegularExpression camera(QStringLiteral("^camera:(\\d+)(?::(\\d+)x(\\d+))?$"));
    if (text.startsWith(QLatin1String("camera:"))) {
        const QRegularExpressionMatch match = camera.match(text);
        if (!match.hasMatch()) {
            return {};
        }
        lipar::SourceSpec spec = lipar::SourceSpec::camera(match.captured(1).toInt());
        if (!match.captured(2).isEmpty()) {
            spec.camera_width = match.captured(2).toInt();
            spec.camera_height = match.captured(3).toInt();
        }
        return spec;
    }
    if (text.isEmpty()) {
        return {};
    }
    return lipar::SourceSpec::file(text.toStdString(), loop);
}

QString SourcePicker::describeSource(const lipar::SourceSpec& source) {
    switch (source.kind) {
        case lipar::SourceSpec::Kind::File:
            return QString::fromStdString(source.path);
        case lipar::SourceSpec::Kind::Camera:
            return QStringLiteral("camera:%1:%2x%3")
                .arg(source.camera_index)
                .arg(source.camera_width)
                .arg(source.camera_height);
        case lipar::SourceSpec::Kind::External:
            return QStringLiteral("external");
        case lipar::SourceSpec::Kind::Invalid:
            break;
    }
    return {};
}

void SourcePicker::refreshCameras() {
    if (m_cameraQuery.activeThreadCount() > 0) {
        return;  // the query in progress answers this request too
    }
    m_cameraBox->setEnabled(false);
    m_cameraBox->setPlaceholderText(tr("Looking for cameras..."));
    m_useCamera->setEnabled(false);
    m_cameraQuery.start([this] {
        std::vector<lipar::CameraDescription> cameras = lipar::list_cameras();
        QMetaObject::invokeMethod(
            this,
            [this, cameras = std::move(cameras)] {
                setCameras(cameras);
                emit camerasListed();
            },
            Qt::QueuedConnection);
    });
}

void SourcePicker::setCameras(const std::vector<lipar::CameraDescription>& cameras) {
    m_cameras = cameras;
    const QSignalBlocker blocker(m_cameraBox);
    m_cameraBox->clear();
    for (const lipar::CameraDescription& camera : m_cameras) {
        m_cameraBox->addItem(
            QStringLiteral("%1: %2 (%3)")
                .arg(camera.index)
                .arg(QString::fromStdString(camera.name), QString::fromStdString(camera.path)));
    }
    if (m_cameras.empty()) {
        m_cameraBox->addItem(tr("No camera found"));
    }
    // With a placeholder, a combo box selects nothing by itself.
    m_cameraBox->setPlaceholderText(QString());
    m_cameraBox->setCurrentIndex(0);
    m_cameraBox->setEnabled(!m_cameras.empty());
    m_useCamera->setEnabled(!m_cameras.empty());
    updateCameraSizes();
}

void SourcePicker::updateCameraSizes() {
    m_sizeBox->clear();
    const int index = m_cameraBox->currentIndex();
    if (index < 0 || index >= static_cast<int>(m_cameras.size())) {
        m_sizeBox->setEnabled(false);
        return;
    }
    const auto& sizes = m_cameras[static_cast<size_t>(index)].sizes;
    for (const auto& [width, height] : sizes) {
        m_sizeBox->addItem(QStringLiteral("%1 x %2").arg(width).arg(height), QSize(width, height));
    }
    if (sizes.empty()) {
        m_sizeBox->addItem(tr("640 x 480"), QSize(640, 480));
    }
    const int vga = m_sizeBox->findData(QSize(640, 480));
    m_sizeBox->setCurrentIndex(vga >= 0 ? vga : 0);
    m_sizeBox->setEnabled(true);
}

void SourcePicker::setSource(const lipar::SourceSpec& source) {
    m_source = source;
    if (source.kind == lipar::SourceSpec::Kind::File) {
        const QSignalBlocker blocker(m_loop);
        m_loop->setChecked(source.loop);
        rememberFile(QString::fromStdString(source.path));
    }
    updateCurrentLabel();
}

void SourcePicker::openFile(const QString& path) {
    if (path.isEmpty()) {
        return;
    }
    m_source = lipar::SourceSpec::file(path.toStdString(), loop());
    rememberFile(path);
    updateCurrentLabel();
    emit sourceRequested(m_source);
}

void SourcePicker::useSelectedCamera() {
    const int index = m_cameraBox->currentIndex();
    if (index < 0 || index >= static_cast<int>(m_cameras.size())) {
        return;
    }
    const QSize size = m_sizeBox->currentData().toSize();
    m_source = lipar::SourceSpec::camera(m_cameras[static_cast<size_t>(index)].index,
                                         size.isValid() ? size.width() : 640,
                                         size.isValid() ? size.height() : 480);
    updateCurrentLabel();
    emit sourceRequested(m_source);
}

void SourcePicker::setRecentFiles(const QStringList& files) {
    m_recent.clear();
    for (const QString& file : files) {
        if (!file.isEmpty() && !m_recent.contains(file) && m_recent.size() < kMaxRecentFiles) {
            m_recent << file;
        }
    }
    const QSignalBlocker blocker(m_recentBox);
    m_recentBox->clear();
    for (const QString& file : m_recent) {
        m_recentBox->addItem(QFileInfo(file).fileName(), file);
        m_recentBox->setItemData(m_recentBox->count() - 1, file, Qt::ToolTipRole);
    }
    m_recentBox->setCurrentIndex(-1);
}

bool SourcePicker::loop() const {
    return m_loop->isChecked();
}

void SourcePicker::setLoop(bool loop) {
    m_loop->setChecked(loop);
}

void SourcePicker::browseFile() {
    const QString start = m_recent.isEmpty() ? QString() : QFileInfo(m_recent.first()).path();
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open a video"), start,
        tr("Videos (*.mp4 *.mkv *.webm *.avi *.mov *.y4m);;All files (*)"));
    openFile(path);
}

void SourcePicker::rememberFile(const QString& path) {
    QStringList files = m_recent;
    files.removeAll(path);
    files.prepend(path);
    setRecentFiles(files);
}

void SourcePicker::updateCurrentLabel() {
    m_current->setText(hasSource() ? tr("Source: %1").arg(describeSource(m_source))
                                   : tr("No source chosen"));
}
