#pragma once
// What LIPAR Studio remembers between runs (QSettings): the last source, recent files, prompt and
// its history, editing parameters, engine configuration, view toggles and window geometry.
// Missing or malformed values fall back to the engine's defaults.

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <memory>

#include "engine_metatypes.h"

class QSettings;

class SettingsStore {
  public:
    // The user's settings (organisation and application names of the QApplication).
    SettingsStore();
    // An INI file (tests, portable setups).
    explicit SettingsStore(const QString& iniPath);
    ~SettingsStore();
    SettingsStore(const SettingsStore&) = delete;
    SettingsStore& operator=(const SettingsStore&) = delete;

    lipar::EditParams editParams() const;
    void setEditParams(const lipar::EditParams& params);
    lipar::EngineConfig engineConfig() const;
    void setEngineConfig(const lipar::EngineConfig& config);

    QString lastSource() const;  // SourcePicker::describeSource form
    void setLastSource(const QString& source);
    bool loop() const;
    void setLoop(bool loop);
    QStringList recentFiles() const;
    void setRecentFiles(const QStringList& files);
    QStringList promptHistory() const;
    void setPromptHistory(const QStringList& prompts);

    bool viewFlag(const QString& name, bool fallback) const;
    void setViewFlag(const QString& name, bool value);

    QByteArray windowGeometry() const;
    QByteArray windowState() const;
    void setWindow(const QByteArray& geometry, const QByteArray& state);

    void sync();

  private:
    std::unique_ptr<QSettings> m_settings;
};
