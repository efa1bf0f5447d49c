#include "slider_spin_box.h"

#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QSignalBlocker>
#include <QSlider>
#include <cmath>

SliderSpinBox::SliderSpinBox(double minimum, double maximum, int decimals, QWidget* parent)
    : QWidget(parent), m_scale(std::pow(10.0, decimals)) {
    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setRange(static_cast<int>(std::lround(minimum * m_scale)),
                       static_cast<int>(std::lround(maximum * m_scale)));
    m_slider->setSingleStep(1);
    m_slider->setPageStep(
        std::max(1, static_cast<int>((m_slider->maximum() - m_slider->minimum()) / 20)));

    m_spinBox = new QDoubleSpinBox(this);
    m_spinBox->setRange(minimum, maximum);
    m_spinBox->setDecimals(decimals);
    m_spinBox->setSingleStep(1.0 / m_scale * 10.0);
    m_spinBox->setKeyboardTracking(false);  // typing "0.25" must not apply 0.2 first
    m_spinBox->setMinimumWidth(72);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_slider, 1);
    layout->addWidget(m_spinBox);

    connect(m_slider, &QSlider::valueChanged, this, &SliderSpinBox::onSliderChanged);
    connect(m_spinBox, qOverload<double>(&QDoubleSpinBox::valueChanged), this,
            &SliderSpinBox::onSpinBoxChanged);
    onSpinBoxChanged(m_spinBox->value());
}

double SliderSpinBox::value() const {
    return m_spinBox->value();
}

void SliderSpinBox::setValue(double value) {
    m_spinBox->setValue(value);
}

void SliderSpinBox::onSliderChanged(int position) {
    // The spin box owns the value; its valueChanged brings us back to onSpinBoxChanged.
    m_spinBox->setValue(static_cast<double>(position) / m_scale);
}

void SliderSpinBox::onSpinBoxChanged(double value) {
    {
        const QSignalBlocker blocker(m_slider);
        m_slider->setValue(static_cast<int>(std::lround(value * m_scale)));
    }
    emit valueChanged(value);
}
