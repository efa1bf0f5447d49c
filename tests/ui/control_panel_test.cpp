// ControlPanel: every widget change produces the exact lipar::EditParams the engine receives.
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTest>

#include "control_panel.h"
#include "prompt_editor.h"
#include "slider_spin_box.h"

class ControlPanelTest : public QObject {
    Q_OBJECT

  private:
    static lipar::EditParams lastEmitted(const QSignalSpy& spy) {
        return spy.last().at(0).value<lipar::EditParams>();
    }

  private slots:
    void defaults_match_the_engine_defaults() {
        ControlPanel panel;
        const lipar::EditParams defaults;
        const lipar::EditParams shown = panel.editParams();
        QCOMPARE(shown.mode, defaults.mode);
        QCOMPARE(shown.tau1, defaults.tau1);
        QCOMPARE(shown.tau2, defaults.tau2);
        QCOMPARE(shown.attention_recovery, defaults.attention_recovery);
        QCOMPARE(shown.strength, defaults.strength);
        QCOMPARE(shown.steps, defaults.steps);
        QCOMPARE(shown.seed, defaults.seed);
        QCOMPARE(shown.prompt, std::string());
    }

    void mode_box_selects_each_edit_mode() {
        ControlPanel panel;
        QSignalSpy spy(&panel, &ControlPanel::paramsChanged);
        const lipar::EditMode expected[] = {lipar::EditMode::Off, lipar::EditMode::Naive,
                                            lipar::EditMode::Compare, lipar::EditMode::Lipar};
        const int indices[] = {0, 1, 3, 2};
        for (int i = 0; i < 4; ++i) {
            panel.modeBox()->setCurrentIndex(indices[i]);
            QCOMPARE(spy.count(), i + 1);
            QCOMPARE(lastEmitted(spy).mode, expected[i]);
            QCOMPARE(panel.mode(), expected[i]);
        }
    }

    void baseline_mode_disables_the_thresholds_but_keeps_their_values() {
        ControlPanel panel;
        panel.tau1Control()->setValue(0.2);
        panel.setMode(lipar::EditMode::Off);
        QVERIFY(!panel.tau1Control()->isEnabled());
        QVERIFY(!panel.recoveryBox()->isEnabled());
        QCOMPARE(panel.editParams().tau1, 0.2);
        panel.setMode(lipar::EditMode::Lipar);
        QVERIFY(panel.tau1Control()->isEnabled());
        QVERIFY(panel.recoveryBox()->isEnabled());
    }

    void the_motion_choice_sets_off_global_or_local_and_is_off_in_baseline() {
        ControlPanel panel;
        QSignalSpy spy(&panel, &ControlPanel::paramsChanged);
        QCOMPARE(panel.motionBox()->count(), 3);
        QCOMPARE(panel.editParams().motion, lipar::MotionCompensation::Off);
        panel.motionBox()->setCurrentIndex(1);
        QCOMPARE(spy.count(), 1);
        QCOMPARE(lastEmitted(spy).motion, lipar::MotionCompensation::Global);
        panel.motionBox()->setCurrentIndex(2);
        QCOMPARE(spy.count(), 2);
        QCOMPARE(lastEmitted(spy).motion, lipar::MotionCompensation::Local);
        panel.setMode(lipar::EditMode::Off);
        QVERIFY(!panel.motionBox()->isEnabled());
        lipar::EditParams params;
        params.motion = lipar::MotionCompensation::Global;
        panel.setEditParams(params);
        QCOMPARE(panel.motionBox()->currentData().toInt(), static_cast<int>(lipar::MotionCompensation::Global));
        params.motion = lipar::MotionCompensation::Local;
        panel.setEditParams(params);
        QCOMPARE(panel.editParams().motion, lipar::MotionCompensation::Local);
    }

    void tau1_slider_moves_the_spin_box_and_the_params() {
        ControlPanel panel;
        QSignalSpy spy(&panel, &ControlPanel::paramsChanged);
        panel.tau1Control()->slider()->setValue(412);
        QCOMPARE(panel.tau1Control()->spinBox()->value(), 0.412);
        QCOMPARE(spy.count(), 1);
        QCOMPARE(lastEmitted(spy).tau1, 0.412);
        QCOMPARE(lastEmitted(spy).tau2, lipar::EditParams{}.tau2);
    }

    void tau1_spin_box_moves_the_slider_and_the_params() {
        ControlPanel panel;
        QSignalSpy spy(&panel, &ControlPanel::paramsChanged);
        panel.tau1Control()->spinBox()->setValue(0.237);
        QCOMPARE(panel.tau1Control()->slider()->value(), 237);
        QCOMPARE(spy.count(), 1);
        QCOMPARE(lastEmitted(spy).tau1, 0.237);
    }

    void tau2_slider_and_spin_box_stay_in_sync_both_ways() {
        ControlPanel panel;
        QSignalSpy spy(&panel, &ControlPanel::paramsChanged);
        panel.tau2Control()->slider()->setValue(55);
        QCOMPARE(panel.tau2Control()->spinBox()->value(), 0.055);
        QCOMPARE(lastEmitted(spy).tau2, 0.055);
        panel.tau2Control()->spinBox()->setValue(0.9);
        QCOMPARE(panel.tau2Control()->slider()->value(), 900);
        QCOMPARE(lastEmitted(spy).tau2, 0.9);
        QCOMPARE(spy.count(), 2);
        QCOMPARE(lastEmitted(spy).tau1, lipar::EditParams{}.tau1);
    }

    void spin_box_rounds_to_its_decimals() {
        ControlPanel panel;
        panel.tau1Control()->spinBox()->setValue(0.12345);
        QCOMPARE(panel.editParams().tau1, 0.123);
        QCOMPARE(panel.tau1Control()->slider()->value(), 123);
    }

    void recovery_toggle_reaches_the_params() {
        ControlPanel panel;
        QSignalSpy spy(&panel, &ControlPanel::paramsChanged);
        QVERIFY(panel.recoveryBox()->isChecked());
        QTest::mouseClick(panel.recoveryBox(), Qt::LeftButton, {},
                          panel.recoveryBox()->rect().center());
        QCOMPARE(spy.count(), 1);
        QCOMPARE(lastEmitted(spy).attention_recovery, false);
        panel.recoveryBox()->setChecked(true);
        QCOMPARE(lastEmitted(spy).attention_recovery, true);
    }

    void strength_steps_and_seed_reach_the_params_exactly() {
        ControlPanel panel;
        QSignalSpy spy(&panel, &ControlPanel::paramsChanged);
        panel.strengthControl()->slider()->setValue(65);
        QCOMPARE(lastEmitted(spy).strength, 0.65);
        panel.strengthControl()->spinBox()->setValue(0.33);
        QCOMPARE(panel.strengthControl()->slider()->value(), 33);
        QCOMPARE(lastEmitted(spy).strength, 0.33);
        panel.stepsBox()->setValue(7);
        QCOMPARE(lastEmitted(spy).steps, 7);
        panel.seedBox()->setValue(123456789);
        QCOMPARE(lastEmitted(spy).seed, uint64_t{123456789});
        QCOMPARE(spy.count(), 4);
        const lipar::EditParams all = panel.editParams();
        QCOMPARE(all.strength, 0.33);
        QCOMPARE(all.steps, 7);
        QCOMPARE(all.seed, uint64_t{123456789});
    }

    void prompt_applies_on_enter_only() {
        ControlPanel panel;
        QSignalSpy spy(&panel, &ControlPanel::paramsChanged);
        QLineEdit* edit = panel.promptEditor()->lineEdit();
        QTest::keyClicks(edit, "oil painting");
        QCOMPARE(spy.count(), 0);
        QCOMPARE(panel.editParams().prompt, std::string());
        QTest::keyClick(edit, Qt::Key_Return);
        QCOMPARE(spy.count(), 1);
        QCOMPARE(lastEmitted(spy).prompt, std::string("oil painting"));
        QCOMPARE(panel.promptEditor()->history(), QStringList{"oil painting"});
    }

    void prompt_history_is_newest_first_without_duplicates_and_bounded() {
        PromptEditor editor;
        QSignalSpy spy(&editor, &PromptEditor::promptApplied);
        for (int i = 0; i < PromptEditor::kMaxHistory + 3; ++i) {
            editor.lineEdit()->setText(QStringLiteral("prompt %1").arg(i));
            editor.apply();
        }
        editor.lineEdit()->setText(QStringLiteral("prompt 5"));
        editor.apply();
        const QStringList history = editor.history();
        QCOMPARE(history.size(), PromptEditor::kMaxHistory);
        QCOMPARE(history.first(), QStringLiteral("prompt 5"));
        QCOMPARE(history.at(1), QStringLiteral("prompt 14"));
        QCOMPARE(history.count(QStringLiteral("prompt 5")), 1);
        QCOMPARE(spy.count(), PromptEditor::kMaxHistory + 4);
        QCOMPARE(spy.last().at(0).toString(), QStringLiteral("prompt 5"));
    }

    void picking_a_prompt_from_the_history_applies_it_once() {
        PromptEditor editor;
        editor.setHistory({QStringLiteral("first"), QStringLiteral("second")});
        editor.setAppliedPrompt(QStringLiteral("first"));
        QSignalSpy spy(&editor, &PromptEditor::promptApplied);
        emit editor.comboBox()->activated(1);
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.last().at(0).toString(), QStringLiteral("second"));
        QCOMPARE(editor.appliedPrompt(), QStringLiteral("second"));
        QCOMPARE(editor.history(), (QStringList{"second", "first"}));
        emit editor.comboBox()->activated(0);  // the applied one again: nothing to do
        QCOMPARE(spy.count(), 1);
    }

    void set_edit_params_shows_them_without_emitting() {
        ControlPanel panel;
        QSignalSpy spy(&panel, &ControlPanel::paramsChanged);
        lipar::EditParams params;
        params.prompt = "a watercolor painting";
        params.mode = lipar::EditMode::Naive;
        params.tau1 = 0.05;
        params.tau2 = 0.75;
        params.attention_recovery = false;
        params.strength = 0.8;
        params.steps = 4;
        params.seed = 42;
        params.min_keep_ratio = 0.25;  // no widget: must travel through unchanged
        params.reset_on_prompt_change = true;
        panel.setEditParams(params);
        QCOMPARE(spy.count(), 0);
        const lipar::EditParams shown = panel.editParams();
        QCOMPARE(shown.prompt, params.prompt);
        QCOMPARE(shown.mode, params.mode);
        QCOMPARE(shown.tau1, params.tau1);
        QCOMPARE(shown.tau2, params.tau2);
        QCOMPARE(shown.attention_recovery, params.attention_recovery);
        QCOMPARE(shown.strength, params.strength);
        QCOMPARE(shown.steps, params.steps);
        QCOMPARE(shown.seed, params.seed);
        QCOMPARE(shown.min_keep_ratio, params.min_keep_ratio);
        QCOMPARE(shown.reset_on_prompt_change, params.reset_on_prompt_change);
        QCOMPARE(panel.tau2Control()->slider()->value(), 750);
    }
};

QTEST_MAIN(ControlPanelTest)
#include "control_panel_test.moc"
