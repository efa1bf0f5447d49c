#include "main_window.h"

#include <QAction>
#include <QCloseEvent>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QScrollArea>
#include <QStatusBar>
#include <QVBoxLayout>

#include "control_panel.h"
#include "engine_bridge.h"
#include "engine_config_panel.h"
#include "log_panel.h"
#include "overlay_painter.h"
#include "pack_locator.h"
#include "preview_widget.h"
#include "prompt_editor.h"
#include "settings_store.h"
#include "source_picker.h"
#include "studio_actions.h"
#include "studio_controller.h"

namespace {

QWidget* titled(const QString& title, QWidget* content, QWidget* parent) {
    auto* box = new QWidget(parent);
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(new QLabel(QStringLiteral("<b>%1</b>").arg(title), box));
    layout->addWidget(content);
    return box;
}

}  // namespace

MainWindow::MainWindow(const StudioOptions& options, QWidget* parent)
    : QMainWindow(parent), m_scripted(options.scripted()) {
    setWindowTitle(tr("LIPAR Studio"));
    setAcceptDrops(true);
    m_settings = options.settingsFile.isEmpty()
                     ? std::make_unique<SettingsStore>()
                     : std::make_unique<SettingsStore>(options.settingsFile);
    m_bridge = new EngineBridge(this);
    buildLayout();
    m_controller = new StudioController(
        {m_bridge, m_preview, m_controls, m_sourcePicker, m_configPanel, m_log, m_actions}, this);
    connectSignals();
    restoreSettings(options);
    m_controller->setPendingRecording(options.record);
    m_sourcePicker->refreshCameras();
    if (!PackLocator::isPack(m_configPanel->packDir())) {
        m_preview->setPlaceholderText(PackLocator::missingPackMessage(m_configPanel->packDir()));
    }
}

MainWindow::~MainWindow() = default;

void MainWindow::buildLayout() {
    m_preview = new PreviewWidget(this);
    setCentralWidget(m_preview);

    m_sourcePicker = new SourcePicker;
    m_controls = new ControlPanel;
    m_configPanel = new EngineConfigPanel;
    auto* side = new QWidget;
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->addWidget(titled(tr("Source"), m_sourcePicker, side));
    sideLayout->addWidget(titled(tr("Edit"), m_controls, side));
    sideLayout->addWidget(titled(tr("Engine"), m_configPanel, side));
    sideLayout->addStretch(1);
    auto* scroll = new QScrollArea;
    scroll->setWidget(side);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(side->sizeHint().width() + 24);
    auto* controlsDock = new QDockWidget(tr("Controls"), this);
    controlsDock->setObjectName(QStringLiteral("controlsDock"));
    controlsDock->setWidget(scroll);
    addDockWidget(Qt::RightDockWidgetArea, controlsDock);

    m_log = new LogPanel;
    auto* logDock = new QDockWidget(tr("Log"), this);
    logDock->setObjectName(QStringLiteral("logDock"));
    logDock->setWidget(m_log);
    addDockWidget(Qt::BottomDockWidgetArea, logDock);
    resizeDocks({logDock}, {140}, Qt::Vertical);

    m_actions = new StudioActions(this);
    m_actions->addMenus(this);
    m_actions->addToolBar(this);
    m_actions->viewMenu()->addAction(controlsDock->toggleViewAction());
    m_actions->viewMenu()->addAction(logDock->toggleViewAction());

    m_sourceLabel = new QLabel(this);
    m_packLabel = new QLabel(this);
    m_deviceLabel = new QLabel(this);
    m_stateLabel = new QLabel(this);
    m_promptLabel = new QLabel(this);
    m_promptLabel->setObjectName(QStringLiteral("promptStatus"));
    m_promptLabel->hide();
    statusBar()->addPermanentWidget(m_promptLabel);
    statusBar()->addPermanentWidget(m_sourceLabel);
    statusBar()->addPermanentWidget(m_packLabel);
    statusBar()->addPermanentWidget(m_deviceLabel);
    statusBar()->addPermanentWidget(m_stateLabel);
}

void MainWindow::connectSignals() {
    connect(m_bridge, &EngineBridge::frameReady, m_preview, &PreviewWidget::showOutput);
    connect(m_bridge, &EngineBridge::statsUpdated, this, &MainWindow::onStats);
    connect(m_bridge, &EngineBridge::stateChanged, this, &MainWindow::onState);
    connect(m_bridge, &EngineBridge::errorOccurred, this, &MainWindow::showError);
    connect(m_controller, &StudioController::errorRaised, this, &MainWindow::showError);
    connect(m_controller, &StudioController::statusMessage, this,
            [this](const QString& text) { statusBar()->showMessage(text, 5000); });
    connect(m_sourcePicker, &SourcePicker::sourceRequested, this,
            [this](const lipar::SourceSpec& source) {
                m_sourceLabel->setText(SourcePicker::describeSource(source));
            });

    connect(m_actions->openVideo, &QAction::triggered, this, [this] {
        m_sourcePicker->openFile(QFileDialog::getOpenFileName(
            this, tr("Open a video"), QString(),
            tr("Videos (*.mp4 *.mkv *.webm *.avi *.mov *.y4m);;All files (*)")));
    });
    connect(m_actions->quit, &QAction::triggered, this, &MainWindow::close);
    connect(m_actions->showInput, &QAction::toggled, m_preview, &PreviewWidget::setShowInput);
    connect(m_actions->showMask, &QAction::toggled, m_preview, &PreviewWidget::setMaskVisible);
    connect(m_actions->showStages, &QAction::toggled, m_preview,
            &PreviewWidget::setStageTimesVisible);
    connect(m_actions->showOverlay, &QAction::toggled, m_preview,
            &PreviewWidget::setOverlayVisible);
    connect(m_actions->newestOnly, &QAction::toggled, this, [this](bool newestOnly) {
        m_bridge->setPresentation(newestOnly ? EngineBridge::Presentation::Latest
                                             : EngineBridge::Presentation::Paced);
    });
    connect(m_actions->about, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::restoreSettings(const StudioOptions& options) {
    lipar::EditParams params = m_settings->editParams();
    if (options.hasPrompt) {
        params.prompt = options.prompt.toStdString();
    }
    if (!options.mode.isEmpty()) {
        params.mode = lipar::parse_edit_mode(options.mode.toStdString());
    }
    m_controls->promptEditor()->setHistory(m_settings->promptHistory());
    m_controls->setEditParams(params);
    m_actions->setCompare(params.mode == lipar::EditMode::Compare);

    lipar::EngineConfig config = m_settings->engineConfig();
    if (!PackLocator::isPack(QString::fromStdString(config.pack))) {
        config.pack = PackLocator::defaultPackDir().toStdString();
    }
    if (!options.pack.isEmpty()) {
        config.pack = options.pack.toStdString();
    }
    if (!options.device.isEmpty()) {
        config.device = options.device.toStdString();
    }
    if (!options.resolution.isEmpty()) {
        config.width = options.resolution.width();
        config.height = options.resolution.height();
    }
    m_configPanel->setEngineConfig(config);

    m_sourcePicker->setRecentFiles(m_settings->recentFiles());
    m_sourcePicker->setLoop(options.loop || m_settings->loop());
    const QString source = options.source.isEmpty() ? m_settings->lastSource() : options.source;
    if (!source.isEmpty()) {
        m_sourcePicker->setSource(SourcePicker::parseSource(source, m_sourcePicker->loop()));
    }
    m_sourceLabel->setText(SourcePicker::describeSource(m_sourcePicker->currentSource()));

    const auto restoreToggle = [this](QAction* action, const char* name, bool fallback) {
        action->setChecked(m_settings->viewFlag(QString::fromLatin1(name), fallback));
    };
    restoreToggle(m_actions->showInput, "show_input", true);
    restoreToggle(m_actions->showMask, "show_mask", false);
    restoreToggle(m_actions->showStages, "show_stages", false);
    restoreToggle(m_actions->showOverlay, "show_overlay", true);
    restoreToggle(m_actions->recordSideBySide, "record_side_by_side", false);
    restoreToggle(m_actions->newestOnly, "newest_only", false);
    m_preview->setShowInput(m_actions->showInput->isChecked());
    m_preview->setMaskVisible(m_actions->showMask->isChecked());
    m_preview->setStageTimesVisible(m_actions->showStages->isChecked());
    m_preview->setOverlayVisible(m_actions->showOverlay->isChecked());

    // Scripted runs get the same window every time, whatever the user left behind.
    if (m_scripted || !restoreGeometry(m_settings->windowGeometry())) {
        resize(1280, 800);
    }
    if (!m_scripted) {
        restoreState(m_settings->windowState());
    }
    onState(lipar::EngineState::Stopped);
}

void MainWindow::saveSettings() {
    m_settings->setEditParams(m_controls->editParams());
    m_settings->setPromptHistory(m_controls->promptEditor()->history());
    m_settings->setEngineConfig(m_configPanel->engineConfig());
    m_settings->setLastSource(SourcePicker::describeSource(m_sourcePicker->currentSource()));
    m_settings->setRecentFiles(m_sourcePicker->recentFiles());
    m_settings->setLoop(m_sourcePicker->loop());
    const auto saveToggle = [this](QAction* action, const char* name) {
        m_settings->setViewFlag(QString::fromLatin1(name), action->isChecked());
    };
    saveToggle(m_actions->showInput, "show_input");
    saveToggle(m_actions->showMask, "show_mask");
    saveToggle(m_actions->showStages, "show_stages");
    saveToggle(m_actions->showOverlay, "show_overlay");
    saveToggle(m_actions->recordSideBySide, "record_side_by_side");
    saveToggle(m_actions->newestOnly, "newest_only");
    m_settings->setWindow(saveGeometry(), saveState());
    m_settings->sync();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!m_scripted) {
        saveSettings();
    }
    m_bridge->stop();
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const QMimeData* mime = event->mimeData();
    if (mime->hasUrls() && !mime->urls().isEmpty() && mime->urls().first().isLocalFile()) {
        event->acceptProposedAction();
    }
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QList<QUrl> urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) {
        event->acceptProposedAction();
        m_sourcePicker->openFile(urls.first().toLocalFile());
    }
}

void MainWindow::onStats(const lipar::EngineStats& stats) {
    m_preview->setStats(stats, m_bridge->presentationStats());
    m_deviceLabel->setText(QString::fromStdString(stats.device));
    const QString prompt = OverlayPainter::promptStatusText(stats);
    m_promptLabel->setText(prompt);
    m_promptLabel->setVisible(!prompt.isEmpty());
    if (!stats.pack_name.empty()) {
        m_packLabel->setText(QString::fromStdString(stats.pack_name) +
                             (stats.untrained ? tr(" (untrained)") : QString()));
        QStringList styles;
        for (const auto& s : stats.styles) {
            styles << QString::fromStdString(s);
        }
        m_controls->promptEditor()->setSuggestions(styles);
    }
    // Until the first result, say why the preview is still empty.
    if (stats.frames_out == 0 && m_preview->paneCount() == 0) {
        if (!prompt.isEmpty()) {
            m_preview->setPlaceholderText(prompt);
        } else if (stats.dropped_frames > 0 && stats.stream_resets > 1) {
            m_preview->setPlaceholderText(
                tr("The engine is slower than the source: %1 frames dropped, the stream restarted "
                   "%2 times before a block could finish.\nPick a smaller resolution preset or a "
                   "faster device (Engine panel), or fewer steps.")
                    .arg(stats.dropped_frames)
                    .arg(stats.stream_resets));
        } else if (m_bridge->state() == lipar::EngineState::Running) {
            m_preview->setPlaceholderText(
                tr("Running: the first block of frames is being edited (%1 frames in)...")
                    .arg(stats.frames_in));
        }
    }
}

void MainWindow::onState(lipar::EngineState state) {
    m_stateLabel->setText(
        tr("Engine: %1").arg(QString::fromLatin1(lipar::engine_state_name(state))));
    m_actions->setRunning(m_bridge->isActive());
    if (!m_bridge->isActive()) {
        m_promptLabel->hide();  // no stats come from a stopped engine
    }
    if (m_packLabel->text().isEmpty() || state == lipar::EngineState::Loading) {
        m_packLabel->setText(QFileInfo(m_configPanel->packDir()).fileName());
    }
}

void MainWindow::showError(const QString& title, const QString& what, const QString& advice) {
    m_log->appendMessage(lipar::LogLevel::Error,
                         advice.isEmpty() ? what : QStringLiteral("%1 -- %2").arg(what, advice));
    emit errorShown(title, what, advice);
    if (m_scripted) {
        return;  // the script driver reports it; a dialog would wait for a click
    }
    // One dialog at a time and never blocking the engine's results: later errors update it.
    if (m_errorBox == nullptr) {
        m_errorBox = new QMessageBox(QMessageBox::Critical, title, what, QMessageBox::Ok, this);
        m_errorBox->setAttribute(Qt::WA_DeleteOnClose);
    }
    m_errorBox->setWindowTitle(title);
    m_errorBox->setText(what);
    m_errorBox->setInformativeText(advice);
    m_errorBox->open();
}

void MainWindow::showAbout() {
    QMessageBox::about(
        this, tr("About LIPAR Studio"),
        tr("<b>LIPAR Studio</b> %1<br>Real-time prompt-driven video editing with a causal "
           "diffusion transformer, accelerated by latent inter-frame pruning with attention "
           "recovery (LIPAR).")
            .arg(QStringLiteral(LIPAR_STUDIO_VERSION)));
}
