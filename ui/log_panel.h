#pragma once
// The engine's log (and the application's own messages) in a scrolling, bounded text view.
//
// Threading: the engine calls the log listener on whichever thread logs, with its registry lock
// held. The listener only appends to m_pending (guarded by m_pendingMutex) and, when that queue
// was empty, posts one queued flush to the GUI thread; the GUI thread moves the queue into the
// view. The destructor unregisters the listener first (after which it is never called again).

#include <QString>
#include <QWidget>
#include <deque>
#include <mutex>
#include <utility>

#include "lipar/log_listener.h"

class QComboBox;
class QPlainTextEdit;

class LogPanel : public QWidget {
    Q_OBJECT

  public:
    static constexpr int kMaxLines = 5000;
    static constexpr size_t kMaxPending = 1000;

    explicit LogPanel(QWidget* parent = nullptr);
    ~LogPanel() override;

    // GUI thread: adds a line (the application's own messages).
    void appendMessage(lipar::LogLevel level, const QString& message);
    QString text() const;
    int lineCount() const;
    void setMinimumLevel(lipar::LogLevel level);
    lipar::LogLevel minimumLevel() const { return m_minimumLevel; }

  private:
    // Any thread.
    void enqueue(lipar::LogLevel level, const std::string& message);
    // GUI thread.
    void flush();

    QPlainTextEdit* m_view = nullptr;
    QComboBox* m_levelBox = nullptr;
    lipar::LogLevel m_minimumLevel = lipar::LogLevel::Info;
    int m_listenerId = 0;
    std::mutex m_pendingMutex;
    std::deque<std::pair<lipar::LogLevel, std::string>> m_pending;  // guarded by m_pendingMutex
    size_t m_droppedLines = 0;                                      // guarded by m_pendingMutex
};
