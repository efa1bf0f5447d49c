#include "prompt_editor.h"

#include <QComboBox>
#include <QCompleter>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalBlocker>

PromptEditor::PromptEditor(QWidget* parent) : QWidget(parent) {
    m_combo = new QComboBox(this);
    m_combo->setEditable(true);
    m_combo->setInsertPolicy(QComboBox::NoInsert);  // the history is ours
    m_combo->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    m_combo->lineEdit()->setPlaceholderText(tr("Describe the edit, then press Enter"));
    m_combo->lineEdit()->setClearButtonEnabled(true);
    m_applyButton = new QPushButton(tr("Apply"), this);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_combo, 1);
    layout->addWidget(m_applyButton);

    connect(m_combo->lineEdit(), &QLineEdit::returnPressed, this, &PromptEditor::apply);
    connect(m_applyButton, &QPushButton::clicked, this, &PromptEditor::apply);
    connect(m_combo, qOverload<int>(&QComboBox::activated), this, [this](int index) {
        // Also emitted for Enter in the field (already applied by returnPressed): only a pick
        // of another prompt from the list applies it.
        const QStringList all = items();
        if (index >= 0 && index < all.size() && all.at(index) != m_applied) {
            m_combo->setEditText(all.at(index));
            apply();
        }
    });
}

QString PromptEditor::text() const {
    return m_combo->currentText().trimmed();
}

QLineEdit* PromptEditor::lineEdit() const {
    return m_combo->lineEdit();
}

void PromptEditor::setAppliedPrompt(const QString& prompt) {
    m_applied = prompt.trimmed();
    remember(m_applied);
}

void PromptEditor::setHistory(const QStringList& history) {
    m_history.clear();
    for (const QString& entry : history) {
        const QString prompt = entry.trimmed();
        if (!prompt.isEmpty() && !m_history.contains(prompt) && m_history.size() < kMaxHistory) {
            m_history << prompt;
        }
    }
    refill();
    m_combo->setEditText(m_applied);
}

void PromptEditor::setSuggestions(const QStringList& suggestions) {
    if (suggestions == m_suggestions) {
        return;
    }
    m_suggestions = suggestions;
    const QString editing = m_combo->currentText();
    refill();
    m_combo->setEditText(editing);
    auto* completer = new QCompleter(m_suggestions, m_combo);
    completer->setCaseSensitivity(Qt::CaseInsensitive);
    completer->setFilterMode(Qt::MatchContains);
    m_combo->setCompleter(completer);
}

QStringList PromptEditor::items() const {
    QStringList all = m_history;
    for (const QString& s : m_suggestions) {
        if (!all.contains(s)) {
            all << s;
        }
    }
    return all;
}

void PromptEditor::refill() {
    const QSignalBlocker blocker(m_combo);
    m_combo->clear();
    m_combo->addItems(items());
}

void PromptEditor::apply() {
    // Enter reaches the field twice through QComboBox's key forwarding; the same prompt again
    // changes nothing anyway.
    if (text() == m_applied) {
        return;
    }
    m_applied = text();
    remember(m_applied);
    emit promptApplied(m_applied);
}

void PromptEditor::remember(const QString& prompt) {
    if (!prompt.isEmpty()) {
        m_history.removeAll(prompt);
        m_history.prepend(prompt);
        while (m_history.size() > kMaxHistory) {
            m_history.removeLast();
        }
    }
    refill();
    m_combo->setEditText(prompt);
}
