// SettingsStore: what LIPAR Studio saves comes back exactly in the next run, and damaged values
// fall back to the engine's defaults instead of reaching the engine.
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>

#include "settings_store.h"

class SettingsStoreTest : public QObject {
    Q_OBJECT

  private slots:
    void edit_params_survive_a_restart() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("studio.ini"));
        lipar::EditParams params;
        params.prompt = "a van gogh painting, starry night";
        params.mode = lipar::EditMode::Compare;
        params.tau1 = 0.137;
        params.tau2 = 0.42;
        params.attention_recovery = false;
        params.strength = 0.55;
        params.steps = 5;
        params.seed = 9007199254740993ull;  // beyond double precision: must not go through one
        params.min_keep_ratio = 0.1;
        params.reset_on_prompt_change = true;
        params.motion = lipar::MotionCompensation::Local;
        {
            SettingsStore store(path);
            store.setEditParams(params);
            store.sync();
        }
        SettingsStore store(path);
        const lipar::EditParams loaded = store.editParams();
        QCOMPARE(loaded.prompt, params.prompt);
        QCOMPARE(loaded.mode, params.mode);
        QCOMPARE(loaded.tau1, params.tau1);
        QCOMPARE(loaded.tau2, params.tau2);
        QCOMPARE(loaded.attention_recovery, params.attention_recovery);
        QCOMPARE(loaded.strength, params.strength);
        QCOMPARE(loaded.steps, params.steps);
        QCOMPARE(loaded.seed, params.seed);
        QCOMPARE(loaded.min_keep_ratio, params.min_keep_ratio);
        QCOMPARE(loaded.reset_on_prompt_change, params.reset_on_prompt_change);
        QCOMPARE(loaded.motion, params.motion);
    }

    void engine_config_sources_and_view_survive_a_restart() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("studio.ini"));
        lipar::EngineConfig config;
        config.pack = "/opt/packs/wan";
        config.device = "cuda:1";
        config.width = 640;
        config.height = 368;
        config.gpus = 2;
        config.split_tokens = true;
        {
            SettingsStore store(path);
            store.setEngineConfig(config);
            store.setLastSource(QStringLiteral("camera:2:1280x720"));
            store.setLoop(false);
            store.setRecentFiles({QStringLiteral("/a.mp4"), QStringLiteral("/b.mkv")});
            store.setPromptHistory({QStringLiteral("one"), QStringLiteral("two")});
            store.setViewFlag(QStringLiteral("show_mask"), true);
            store.setWindow(QByteArray("geometry"), QByteArray("state"));
            store.sync();
        }
        SettingsStore store(path);
        const lipar::EngineConfig loaded = store.engineConfig();
        QCOMPARE(loaded.pack, config.pack);
        QCOMPARE(loaded.device, config.device);
        QCOMPARE(loaded.gpus, 2);
        QVERIFY(loaded.split_tokens);
        QCOMPARE(loaded.width, 640);
        QCOMPARE(loaded.height, 368);
        QCOMPARE(store.lastSource(), QStringLiteral("camera:2:1280x720"));
        QCOMPARE(store.loop(), false);
        QCOMPARE(store.recentFiles(), (QStringList{"/a.mp4", "/b.mkv"}));
        QCOMPARE(store.promptHistory(), (QStringList{"one", "two"}));
        QCOMPARE(store.viewFlag(QStringLiteral("show_mask"), false), true);
        QCOMPARE(store.viewFlag(QStringLiteral("show_stages"), false), false);
        QCOMPARE(store.windowGeometry(), QByteArray("geometry"));
        QCOMPARE(store.windowState(), QByteArray("state"));
    }

    void empty_settings_give_the_engine_defaults() {
        QTemporaryDir dir;
        SettingsStore store(dir.filePath(QStringLiteral("none.ini")));
        const lipar::EditParams defaults;
        const lipar::EditParams loaded = store.editParams();
        QCOMPARE(loaded.mode, defaults.mode);
        QCOMPARE(loaded.tau1, defaults.tau1);
        QCOMPARE(loaded.steps, defaults.steps);
        QCOMPARE(store.engineConfig().width, 0);
        QCOMPARE(store.engineConfig().device, std::string("auto"));
        QCOMPARE(store.loop(), true);
        QVERIFY(store.lastSource().isEmpty());
    }

    void damaged_values_fall_back_to_defaults_but_keep_the_prompt() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("bad.ini"));
        {
            QSettings raw(path, QSettings::IniFormat);
            raw.setValue("edit/prompt", "keep me");
            raw.setValue("edit/mode", "turbo");
            raw.setValue("edit/steps", 500);
            raw.setValue("edit/motion", "sideways");
            raw.setValue("engine/width", 650);
            raw.setValue("engine/height", 368);
        }
        SettingsStore store(path);
        const lipar::EditParams loaded = store.editParams();
        QCOMPARE(loaded.prompt, std::string("keep me"));
        QCOMPARE(loaded.mode, lipar::EditParams{}.mode);
        QCOMPARE(loaded.steps, lipar::EditParams{}.steps);
        QCOMPARE(loaded.motion, lipar::EditParams{}.motion);
        QCOMPARE(store.engineConfig().width, 0);
        QCOMPARE(store.engineConfig().height, 0);
    }
};

QTEST_MAIN(SettingsStoreTest)
#include "settings_store_test.moc"
