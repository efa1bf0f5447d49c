#include "control_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QSpinBox>
#include <limits>

#include "prompt_editor.h"
#include "slider_spin_box.h"

ControlPanel::ControlPanel(QWidget* parent) : QWidget(parent) {
    m_prompt = new PromptEditor(this);

    m_mode = new QComboBox(this);
    m_mode->addItem(tr("Baseline (no pruning)"), static_cast<int>(lipar::EditMode::Off));
    m_mode->addItem(tr("Naive pruning"), static_cast<int>(lipar::EditMode::Naive));
    m_mode->addItem(tr("LIPAR"), static_cast<int>(lipar::EditMode::Lipar));
    m_mode->addItem(tr("Compare: baseline | LIPAR"), static_cast<int>(lipar::EditMode::Compare));
    m_mode->setToolTip(
        tr("Compare (C) runs the baseline and LIPAR on the same input side by side"));

    m_recovery = new QCheckBox(tr("Attention recovery"), this);
    m_recovery->setToolTip(tr("LIPAR without recovery behaves as naive pruning"));
    m_resetOnPrompt = new QCheckBox(tr("Reset the stream on prompt change"), this);
    m_motion = new QComboBox(this);
    m_motion->addItem(tr("Off (same place)"), static_cast<int>(lipar::MotionCompensation::Off));
    m_motion->addItem(tr("Camera pan (global)"), static_cast<int>(lipar::MotionCompensation::Global));
    m_motion->addItem(tr("Per region (local)"), static_cast<int>(lipar::MotionCompensation::Local));
    m_motion->setToolTip(
        tr("Motion-compensated detection: compare each token with where its content was in the "
           "previous frame, so that moving content still finds duplicates.\n"
           "Camera pan: one motion for the whole picture, to a fraction of a pixel.\n"
           "Per region: one motion per 64x64-pixel tile in whole 16-pixel steps (subjects moving "
           "on their own, parallax)."));

    m_tau1 = new SliderSpinBox(0.0, 1.0, 3, this);
    m_tau1->setToolTip(
        tr("Short-term threshold: a token is recomputed when it changed more "
           "than tau1 since the previous latent frame"));
    m_tau2 = new SliderSpinBox(0.0, 1.0, 3, this);
    m_tau2->setToolTip(
        tr("Long-term threshold against the last recomputed content (stops "
           "slow drift)"));
    m_strength = new SliderSpinBox(0.0, 1.0, 2, this);
    m_strength->spinBox()->setSpecialValueText(tr("pack"));  // 0: the pack's trained schedule
    m_strength->setToolTip(tr("How far the edit departs from the input (SDEdit start level)"));

    m_steps = new QSpinBox(this);
    m_steps->setRange(0, 50);
    m_steps->setSpecialValueText(tr("pack"));
    m_seed = new QSpinBox(this);
    m_seed->setRange(0, std::numeric_limits<int>::max());

    auto* form = new QFormLayout(this);
    form->addRow(tr("Prompt"), m_prompt);
    form->addRow(tr("Mode"), m_mode);
    form->addRow(QString(), m_recovery);
    form->addRow(tr("tau1"), m_tau1);
    form->addRow(tr("tau2"), m_tau2);
    form->addRow(tr("Motion"), m_motion);
    form->addRow(tr("Strength"), m_strength);
    form->addRow(tr("Steps"), m_steps);
    form->addRow(tr("Seed"), m_seed);
    form->addRow(QString(), m_resetOnPrompt);

    setEditParams(lipar::EditParams{});

    connect(m_prompt, &PromptEditor::promptApplied, this, &ControlPanel::onChanged);
    connect(m_mode, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &ControlPanel::onChanged);
    connect(m_recovery, &QCheckBox::toggled, this, &ControlPanel::onChanged);
    connect(m_resetOnPrompt, &QCheckBox::toggled, this, &ControlPanel::onChanged);
    connect(m_motion, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &ControlPanel::onChanged);
    connect(m_tau1, &SliderSpinBox::valueChanged, this, &ControlPanel::onChanged);
    connect(m_tau2, &SliderSpinBox::valueChanged, this, &ControlPanel::onChanged);
    connect(m_strength, &SliderSpinBox::valueChanged, this, &ControlPanel::onChanged);
    connect(m_steps, qOverload<int>(&QSpinBox::valueChanged), this, &ControlPanel::onChanged);
    connect(m_seed, qOverload<int>(&QSpinBox::valueChanged), this, &ControlPanel::onChanged);
}

lipar::EditParams ControlPanel::editParams() const {
    lipar::EditParams params = m_base;
    params.prompt = m_prompt->appliedPrompt().toStdString();
    params.mode = mode();
    params.attention_recovery = m_recovery->isChecked();
    params.reset_on_prompt_change = m_resetOnPrompt->isChecked();
    params.motion = static_cast<lipar::MotionCompensation>(m_motion->currentData().toInt());
    params.tau1 = m_tau1->value();
    params.tau2 = m_tau2->value();
    params.strength = m_strength->value();
    params.steps = m_steps->value();
    params.seed = static_cast<uint64_t>(m_seed->value());
    return params;
}

void ControlPanel::setEditParams(const lipar::EditParams& params) {
    m_loading = true;
    m_base = params;
    m_prompt->setAppliedPrompt(QString::fromStdString(params.prompt));
    const int modeIndex = m_mode->findData(static_cast<int>(params.mode));
    m_mode->setCurrentIndex(
        modeIndex >= 0 ? modeIndex : m_mode->findData(static_cast<int>(lipar::EditMode::Lipar)));
    m_recovery->setChecked(params.attention_recovery);
    m_resetOnPrompt->setChecked(params.reset_on_prompt_change);
    const int motionIndex = m_motion->findData(static_cast<int>(params.motion));
    m_motion->setCurrentIndex(motionIndex >= 0 ? motionIndex : 0);
    m_tau1->setValue(params.tau1);
    m_tau2->setValue(params.tau2);
    m_strength->setValue(params.strength);
    m_steps->setValue(params.steps);
    m_seed->setValue(static_cast<int>(
        std::min<uint64_t>(params.seed, static_cast<uint64_t>(std::numeric_limits<int>::max()))));
    m_loading = false;
    updateEnabled();
}

lipar::EditMode ControlPanel::mode() const {
    return static_cast<lipar::EditMode>(m_mode->currentData().toInt());
}

void ControlPanel::setMode(lipar::EditMode mode) {
    const int index = m_mode->findData(static_cast<int>(mode));
    if (index >= 0) {
        m_mode->setCurrentIndex(index);
    }
}

void ControlPanel::onChanged() {
    updateEnabled();
    if (!m_loading) {
        emit paramsChanged(editParams());
    }
}

void ControlPanel::updateEnabled() {
    const lipar::EditMode current = mode();
    const bool prunes = current != lipar::EditMode::Off;
    m_tau1->setEnabled(prunes);
    m_tau2->setEnabled(prunes);
    m_motion->setEnabled(prunes);
    m_recovery->setEnabled(current == lipar::EditMode::Lipar ||
                           current == lipar::EditMode::Compare);
}
