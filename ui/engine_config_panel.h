#pragma once
// How the engine runs: model pack, resolution preset, device, pipeline stages (GPUs). These are fixed for a started
// engine, so they take effect with Apply, which restarts it (the editing controls do not).

#include <QSize>
#include <QWidget>

#include "engine_metatypes.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

class EngineConfigPanel : public QWidget {
    Q_OBJECT

  public:
    explicit EngineConfigPanel(QWidget* parent = nullptr);

    // Width x height presets (multiples of 16); QSize() is the pack's default.
    static QList<QSize> resolutionPresets();

    lipar::EngineConfig engineConfig() const;
    // Shows config (without applyRequested); a size outside the presets is added to the list.
    void setEngineConfig(const lipar::EngineConfig& config);
    QString packDir() const;
    QSize resolution() const;
    QComboBox* resolutionBox() const { return m_resolution; }
    QComboBox* deviceBox() const { return m_device; }
    QLineEdit* packEdit() const { return m_pack; }
    QSpinBox* gpusBox() const { return m_gpus; }
    QComboBox* splitBox() const { return m_split; }

  signals:
    void applyRequested(const lipar::EngineConfig& config);

  private:
    void browsePack();
    void updatePackStatus();
    int resolutionIndex(QSize size);

    QLineEdit* m_pack = nullptr;
    QLabel* m_packStatus = nullptr;
    QComboBox* m_resolution = nullptr;
    QComboBox* m_device = nullptr;
    QSpinBox* m_gpus = nullptr;
    QComboBox* m_split = nullptr;
    QPushButton* m_apply = nullptr;
    lipar::EngineConfig m_base;
};
