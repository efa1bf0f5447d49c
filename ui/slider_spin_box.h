#pragma once
// A slider and a numeric field showing one decimal value, kept in sync both ways. The value is
// the spin box's (rounded to its decimals); the slider moves in steps of one last decimal.

#include <QWidget>

class QDoubleSpinBox;
class QSlider;

class SliderSpinBox : public QWidget {
    Q_OBJECT

  public:
    SliderSpinBox(double minimum, double maximum, int decimals, QWidget* parent = nullptr);

    double value() const;
    // Emits valueChanged when the (rounded) value changes, like Qt's own widgets.
    void setValue(double value);
    QSlider* slider() const { return m_slider; }
    QDoubleSpinBox* spinBox() const { return m_spinBox; }

  signals:
    void valueChanged(double value);

  private:
    void onSliderChanged(int position);
    void onSpinBoxChanged(double value);

    QSlider* m_slider = nullptr;
    QDoubleSpinBox* m_spinBox = nullptr;
    double m_scale = 1.0;
};
