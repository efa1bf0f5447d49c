#include "engine_config_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include "pack_locator.h"

EngineConfigPanel::EngineConfigPanel(QWidget* parent) : QWidget(parent) {
    m_pack = new QLineEdit(this);
    m_pack->setPlaceholderText(tr("Model pack directory (with manifest.json)"));
    auto* browse = new QPushButton(tr("Browse..."), this);
    auto* packRow = new QHBoxLayout;
    packRow->setContentsMargins(0, 0, 0, 0);
    packRow->addWidget(m_pack, 1);
    packRow->addWidget(browse);
    m_packStatus = new QLabel(this);
    m_packStatus->setWordWrap(true);

    m_resolution = new QComboBox(this);
    for (const QSize& size : resolutionPresets()) {
        m_resolution->addItem(size.isEmpty() ? tr("Pack default")
                                             : tr("%1 x %2").arg(size.width()).arg(size.height()),
                              size);
    }
    m_device = new QComboBox(this);
    m_device->addItem(tr("Automatic (GPU if present)"), QStringLiteral("auto"));
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    m_device->addItem(tr("CUDA GPU"), QStringLiteral("cuda"));

    m_gpus = new QSpinBox(this);
    m_gpus->setRange(1, 16);
    m_gpus->setToolTip(
        tr("Workers sharing the DiT through c10d. On the CPU they are worker threads over Gloo "
           "(the same output as one); several GPUs are not built yet, so a CUDA device needs 1."));
    m_split = new QComboBox(this);
    m_split->addItem(tr("By tokens (replicas; faster)"), true);
    m_split->addItem(tr("By layers (pipeline stages)"), false);
    m_split->setCurrentIndex(1);
    m_split->setToolTip(
        tr("By tokens: every worker holds the whole model and computes its share of each pass's "
           "tokens, keys and values gathered per layer (each holds a whole replica). "
           "By layers: the DiT's blocks split over the workers like an assembly line, whose gain "
           "a causal stream bounds (about 1.1x for two)."));

    m_apply = new QPushButton(tr("Apply (restarts the engine)"), this);

    auto* form = new QFormLayout(this);
    form->addRow(tr("Model pack"), packRow);
    form->addRow(QString(), m_packStatus);
    form->addRow(tr("Resolution"), m_resolution);
    form->addRow(tr("Device"), m_device);
    form->addRow(tr("GPUs (workers)"), m_gpus);
    form->addRow(tr("Workers share the DiT"), m_split);
    form->addRow(QString(), m_apply);

    connect(browse, &QPushButton::clicked, this, &EngineConfigPanel::browsePack);
    connect(m_pack, &QLineEdit::textChanged, this, &EngineConfigPanel::updatePackStatus);
    connect(m_apply, &QPushButton::clicked, this, [this] { emit applyRequested(engineConfig()); });
    updatePackStatus();
}

QList<QSize> EngineConfigPanel::resolutionPresets() {
    return {QSize(), QSize(832, 480), QSize(640, 368), QSize(480, 272), QSize(320, 192)};
}

lipar::EngineConfig EngineConfigPanel::engineConfig() const {
    lipar::EngineConfig config = m_base;
    config.pack = packDir().toStdString();
    const QSize size = resolution();
    config.width = size.isEmpty() ? 0 : size.width();
    config.height = size.isEmpty() ? 0 : size.height();
    config.device = m_device->currentData().toString().toStdString();
    config.gpus = m_gpus->value();
    config.split_tokens = m_split->currentData().toBool();
    return config;
}

void EngineConfigPanel::setEngineConfig(const lipar::EngineConfig& config) {
    m_base = config;
    m_pack->setText(QString::fromStdString(config.pack));
    const QSize size =
        config.width > 0 && config.height > 0 ? QSize(config.width, config.height) : QSize();
    m_resolution->setCurrentIndex(resolutionIndex(size));
    const QString device = QString::fromStdString(config.device);
    int deviceIndex = m_device->findData(device);
    if (deviceIndex < 0) {
        m_device->addItem(device, device);  // e.g. cuda:1
        deviceIndex = m_device->count() - 1;
    }
    m_device->setCurrentIndex(deviceIndex);
    m_gpus->setValue(config.gpus);
    m_split->setCurrentIndex(m_split->findData(config.split_tokens));
}

QString EngineConfigPanel::packDir() const {
    return m_pack->text().trimmed();
}

QSize EngineConfigPanel::resolution() const {
    return m_resolution->currentData().toSize();
}

int EngineConfigPanel::resolutionIndex(QSize size) {
    for (int i = 0; i < m_resolution->count(); ++i) {
        if (m_resolution->itemData(i).toSize() == size) {
            return i;
        }
    }
    m_resolution->addItem(tr("%1 x %2 (custom)").arg(size.width()).arg(size.height()), size);
    return m_resolution->count() - 1;
}

void EngineConfigPanel::browsePack() {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Choose a model pack"), packDir());
    if (!dir.isEmpty()) {
        m_pack->setText(dir);
    }
}

void EngineConfigPanel::updatePackStatus() {
    const QString dir = packDir();
    if (PackLocator::isPack(dir)) {
        m_packStatus->setText(tr("manifest.json found"));
        m_packStatus->setStyleSheet(QString());
    } else {
        m_packStatus->setText(dir.isEmpty() ? tr("No pack chosen")
                                            : tr("No manifest.json in this directory"));
        m_packStatus->setStyleSheet(QStringLiteral("color: #d04040"));
    }
}
