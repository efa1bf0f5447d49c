#pragma once
// The editing controls: prompt (with history), mode, attention recovery, tau1/tau2, motion
// compensation, strength, steps and seed. Every change emits paramsChanged with the complete EditParams; the engine
// applies them at its next block boundary (nothing here restarts the engine).

#include <QWidget>

#include "engine_metatypes.h"

class QCheckBox;
class QComboBox;
class QSpinBox;
class PromptEditor;
class SliderSpinBox;

class ControlPanel : public QWidget {
    Q_OBJECT

  public:
    explicit ControlPanel(QWidget* parent = nullptr);

    // The parameters the widgets show (the prompt is the last applied one).
    lipar::EditParams editParams() const;
    // Shows params without emitting paramsChanged (settings, command line).
    void setEditParams(const lipar::EditParams& params);
    lipar::EditMode mode() const;
    // Selects a mode as the user would (emits paramsChanged when it changes).
    void setMode(lipar::EditMode mode);

    PromptEditor* promptEditor() const { return m_prompt; }
    QComboBox* modeBox() const { return m_mode; }
    QCheckBox* recoveryBox() const { return m_recovery; }
    QCheckBox* resetOnPromptBox() const { return m_resetOnPrompt; }
    QComboBox* motionBox() const { return m_motion; }
    SliderSpinBox* tau1Control() const { return m_tau1; }
    SliderSpinBox* tau2Control() const { return m_tau2; }
    SliderSpinBox* strengthControl() const { return m_strength; }
    QSpinBox* stepsBox() const { return m_steps; }
    QSpinBox* seedBox() const { return m_seed; }

  signals:
    void paramsChanged(const lipar::EditParams& params);

  private:
    void onChanged();
    void updateEnabled();

    PromptEditor* m_prompt = nullptr;
    QComboBox* m_mode = nullptr;
    QCheckBox* m_recovery = nullptr;
    QCheckBox* m_resetOnPrompt = nullptr;
    QComboBox* m_motion = nullptr;
    SliderSpinBox* m_tau1 = nullptr;
    SliderSpinBox* m_tau2 = nullptr;
    SliderSpinBox* m_strength = nullptr;
    QSpinBox* m_steps = nullptr;
    QSpinBox* m_seed = nullptr;
    // Fields without a widget (min_keep_ratio) travel through unchanged.
    lipar::EditParams m_base;
    bool m_loading = false;
};
