#include "log_panel.h"

#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QVBoxLayout>

LogPanel::LogPanel(QWidget* parent) : QWidget(parent) {
    m_view = new QPlainTextEdit(this);
    m_view->setReadOnly(true);
    m_view->setMaximumBlockCount(kMaxLines);
    m_view->setLineWrapMode(QPlainTextEdit::NoWrap);
    QFont mono(QStringLiteral("monospace"));
    mono.setStyleHint(QFont::TypeWriter);
    m_view->setFont(mono);

    m_levelBox = new QComboBox(this);
    for (lipar::LogLevel level : {lipar::LogLevel::Debug, lipar::LogLevel::Info,
                                  lipar::LogLevel::Warn, lipar::LogLevel::Error}) {
        m_levelBox->addItem(QString::fromLatin1(lipar::log_level_name(level)),
                            static_cast<int>(level));
    }
    m_levelBox->setCurrentIndex(m_levelBox->findData(static_cast<int>(m_minimumLevel)));
    auto* clear = new QPushButton(tr("Clear"), this);

    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Show"), this));
    bar->addWidget(m_levelBox);
    bar->addStretch(1);
    bar->addWidget(clear);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(bar);
    layout->addWidget(m_view, 1);

    connect(clear, &QPushButton::clicked, m_view, &QPlainTextEdit::clear);
    connect(m_levelBox, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        m_minimumLevel = static_cast<lipar::LogLevel>(m_levelBox->currentData().toInt());
    });

    m_listenerId = lipar::add_log_listener(
        [this](lipar::LogLevel level, const std::string& message) { enqueue(level, message); });
}

LogPanel::~LogPanel() {
    lipar::remove_log_listener(m_listenerId);
}

void LogPanel::enqueue(lipar::LogLevel level, const std::string& message) {
    bool wasEmpty = false;
    {
        std::lock_guard<std::mutex> lock(m_pendingMutex);
        wasEmpty = m_pending.empty();
        if (m_pending.size() >= kMaxPending) {
            m_pending.pop_front();
            ++m_droppedLines;
        }
        m_pending.emplace_back(level, message);
    }
    if (wasEmpty) {
        QMetaObject::invokeMethod(this, &LogPanel::flush, Qt::QueuedConnection);
    }
}

void LogPanel::flush() {
    std::deque<std::pair<lipar::LogLevel, std::string>> lines;
    size_t dropped = 0;
    {
        std::lock_guard<std::mutex> lock(m_pendingMutex);
        lines.swap(m_pending);
        std::swap(dropped, m_droppedLines);
    }
    if (dropped > 0) {
        appendMessage(
            lipar::LogLevel::Warn,
            tr("(%1 log lines skipped: the engine logged faster than shown)").arg(dropped));
    }
    for (const auto& [level, message] : lines) {
        appendMessage(level, QString::fromStdString(message));
    }
}

void LogPanel::appendMessage(lipar::LogLevel level, const QString& message) {
    if (static_cast<int>(level) < static_cast<int>(m_minimumLevel)) {
        return;
    }
    QScrollBar* scroll = m_view->verticalScrollBar();
    const bool atEnd = scroll->value() == scroll->maximum();
    m_view->appendPlainText(QStringLiteral("%1 [%2] %3")
                                .arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss.zzz")),
                                     QString::fromLatin1(lipar::log_level_name(level)), message));
    if (atEnd) {
        scroll->setValue(scroll->maximum());
    }
}

QString LogPanel::text() const {
    return m_view->toPlainText();
}

int LogPanel::lineCount() const {
    return m_view->blockCount();
}

void LogPanel::setMinimumLevel(lipar::LogLevel level) {
    m_levelBox->setCurrentIndex(m_levelBox->findData(static_cast<int>(level)));
    m_minimumLevel = level;
}
