#include "settings_store.h"

#include <QSettings>
#include <algorithm>

SettingsStore::SettingsStore() : m_settings(std::make_unique<QSettings>()) {}

SettingsStore::SettingsStore(const QString& iniPath)
    : m_settings(std::make_unique<QSettings>(iniPath, QSettings::IniFormat)) {}

SettingsStore::~SettingsStore() = default;

lipar::EditParams SettingsStore::editParams() const {
    const lipar::EditParams defaults;
    lipar::EditParams params = defaults;
    const QSettings& s = *m_settings;
    params.prompt = s.value("edit/prompt", QString()).toString().toStdString();
    const lipar::EditMode mode =
        lipar::parse_edit_mode(s.value("edit/mode", QString()).toString().toStdString());
    params.mode = mode == lipar::EditMode::Invalid ? defaults.mode : mode;
    params.tau1 = s.value("edit/tau1", defaults.tau1).toDouble();
    params.tau2 = s.value("edit/tau2", defaults.tau2).toDouble();
    {
        const auto motion = lipar::parse_motion_compensation(
            s.value("edit/motion", lipar::motion_compensation_name(defaults.motion)).toString().toStdString());
        params.motion = motion == lipar::MotionCompensation::Invalid ? defaults.motion : motion;
    }
    params.attention_recovery =
        s.value("edit/attention_recovery", defaults.attention_recovery).toBool();
    params.strength = s.value("edit/strength", defaults.strength).toDouble();
    params.steps = s.value("edit/steps", defaults.steps).toInt();
    params.seed =
        s.value("edit/seed", QVariant::fromValue<qulonglong>(defaults.seed)).toULongLong();
    params.min_keep_ratio = s.value("edit/min_keep_ratio", defaults.min_keep_ratio).toDouble();
    params.reset_on_prompt_change =
        s.value("edit/reset_on_prompt_change", defaults.reset_on_prompt_change).toBool();
    if (!params.validate().empty()) {
        lipar::EditParams fallback = defaults;
        fallback.prompt = params.prompt;
        return fallback;
    }
    return params;
}

void SettingsStore::setEditParams(const lipar::EditParams& params) {
    QSettings& s = *m_settings;
    s.setValue("edit/prompt", QString::fromStdString(params.prompt));
    s.setValue("edit/mode", QString::fromLatin1(lipar::edit_mode_name(params.mode)));
    s.setValue("edit/tau1", params.tau1);
    s.setValue("edit/tau2", params.tau2);
    s.setValue("edit/motion", QString::fromLatin1(lipar::motion_compensation_name(params.motion)));
    s.setValue("edit/attention_recovery", params.attention_recovery);
    s.setValue("edit/strength", params.strength);
    s.setValue("edit/steps", params.steps);
    s.setValue("edit/seed", QVariant::fromValue<qulonglong>(params.seed));
    s.setValue("edit/min_keep_ratio", params.min_keep_ratio);
    s.setValue("edit/reset_on_prompt_change", params.reset_on_prompt_change);
}

lipar::EngineConfig SettingsStore::engineConfig() const {
    const lipar::EngineConfig defaults;
    lipar::EngineConfig config = defaults;
    const QSettings& s = *m_settings;
    config.pack = s.value("engine/pack", QString()).toString().toStdString();
    config.device =
        s.value("engine/device", QString::fromStdString(defaults.device)).toString().toStdString();
    config.dtype =
        s.value("engine/dtype", QString::fromStdString(defaults.dtype)).toString().toStdString();
    config.width = s.value("engine/width", defaults.width).toInt();
    config.height = s.value("engine/height", defaults.height).toInt();
    config.gpus = std::clamp(s.value("engine/gpus", defaults.gpus).toInt(), 1, 16);
    config.split_tokens = s.value("engine/split", defaults.split_tokens ? "tokens" : "layers").toString() == "tokens";
    if (config.width % 16 != 0 || config.height % 16 != 0 || config.width < 0 ||
        config.height < 0) {
        config.width = defaults.width;
        config.height = defaults.height;
    }
    return config;
}

void SettingsStore::setEngineConfig(const lipar::EngineConfig& config) {
    QSettings& s = *m_settings;
    s.setValue("engine/pack", QString::fromStdString(config.pack));
    s.setValue("engine/device", QString::fromStdString(config.device));
    s.setValue("engine/dtype", QString::fromStdString(config.dtype));
    s.setValue("engine/width", config.width);
    s.setValue("engine/height", config.height);
    s.setValue("engine/gpus", config.gpus);
    s.setValue("engine/split", config.split_tokens ? "tokens" : "layers");
}

QString SettingsStore::lastSource() const {
    return m_settings->value("source/last").toString();
}

void SettingsStore::setLastSource(const QString& source) {
    m_settings->setValue("source/last", source);
}

bool SettingsStore::loop() const {
    return m_settings->value("source/loop", true).toBool();
}

void SettingsStore::setLoop(bool loop) {
    m_settings->setValue("source/loop", loop);
}

QStringList SettingsStore::recentFiles() const {
    return m_settings->value("source/recent").toStringList();
}

void SettingsStore::setRecentFiles(const QStringList& files) {
    m_settings->setValue("source/recent", files);
}

QStringList SettingsStore::promptHistory() const {
    return m_settings->value("edit/prompt_history").toStringList();
}

void SettingsStore::setPromptHistory(const QStringList& prompts) {
    m_settings->setValue("edit/prompt_history", prompts);
}

bool SettingsStore::viewFlag(const QString& name, bool fallback) const {
    return m_settings->value("view/" + name, fallback).toBool();
}

void SettingsStore::setViewFlag(const QString& name, bool value) {
    m_settings->setValue("view/" + name, value);
}

QByteArray SettingsStore::windowGeometry() const {
    return m_settings->value("window/geometry").toByteArray();
}

QByteArray SettingsStore::windowState() const {
    return m_settings->value("window/state").toByteArray();
}

void SettingsStore::setWindow(const QByteArray& geometry, const QByteArray& state) {
    m_settings->setValue("window/geometry", geometry);
    m_settings->setValue("window/state", state);
}

void SettingsStore::sync() {
    m_settings->sync();
}
