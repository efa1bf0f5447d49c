#pragma once
// The prompt field: type, press Enter (or Apply) to send it to the engine; the last prompts are
// kept in a drop-down history (newest first, no duplicates). Applying never waits on the engine:
// the new prompt is picked up at the engine's next block boundary.

#include <QStringList>
#include <QWidget>

class QComboBox;
class QLineEdit;
class QPushButton;

class PromptEditor : public QWidget {
    Q_OBJECT

  public:
    static constexpr int kMaxHistory = 12;

    explicit PromptEditor(QWidget* parent = nullptr);

    QString text() const;
    QString appliedPrompt() const { return m_applied; }
    // Shows and records prompt as applied, without promptApplied (settings, command line).
    void setAppliedPrompt(const QString& prompt);
    QStringList history() const { return m_history; }
    void setHistory(const QStringList& history);
    // The pack's style prompts: listed in the drop-down after the history, and completed while
    // typing (any part of a style name matches).
    void setSuggestions(const QStringList& suggestions);
    QStringList suggestions() const { return m_suggestions; }
    QLineEdit* lineEdit() const;
    QComboBox* comboBox() const { return m_combo; }

    // Applies the text being edited when it differs from the applied prompt: adds it to the
    // history and emits promptApplied.
    void apply();

  signals:
    void promptApplied(const QString& prompt);

  private:
    void remember(const QString& prompt);
    void refill();  // the drop-down: history, then suggestions not in it
    QStringList items() const;

    QComboBox* m_combo = nullptr;
    QPushButton* m_applyButton = nullptr;
    QString m_applied;
    QStringList m_history;
    QStringList m_suggestions;
};
