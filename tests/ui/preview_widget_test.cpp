// PreviewWidget: frames keep their aspect ratio inside letterbox bars, its image buffers are
// reused for frames of the same size, compare mode labels each side with its own FPS, the
// pruning heatmap tints only recomputed tokens, and the overlay shows latency to the screen,
// drops where they happened and a prompt being encoded.
#include <QTest>

#include "preview_widget.h"

namespace {

const QColor kLeft(200, 30, 40);
const QColor kRight(20, 60, 210);

// Left half kLeft, right half kRight.
lipar::Frame twoColourFrame(int width, int height, int shift = 0) {
    lipar::Frame frame;
    frame.resize(width, height);
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            const QColor& c = x < width / 2 ? kLeft : kRight;
            uint8_t* p = frame.pixel(x, y);
            p[0] = static_cast<uint8_t>(c.red() + shift);
            p[1] = static_cast<uint8_t>(c.green());
            p[2] = static_cast<uint8_t>(c.blue());
        }
    }
    return frame;
}

lipar::Frame solidFrame(int width, int height, QColor colour) {
    lipar::Frame frame;
    frame.resize(width, height);
    for (int i = 0; i < width * height; ++i) {
        frame.rgb[static_cast<size_t>(i) * 3] = static_cast<uint8_t>(colour.red());
        frame.rgb[static_cast<size_t>(i) * 3 + 1] = static_cast<uint8_t>(colour.green());
        frame.rgb[static_cast<size_t>(i) * 3 + 2] = static_cast<uint8_t>(colour.blue());
    }
    return frame;
}

QImage render(PreviewWidget& widget) {
    return widget.grab().toImage().convertToFormat(QImage::Format_RGB32);
}

QColor at(const QImage& image, int x, int y) {
    return image.pixelColor(x, y);
}

// A 400x200 widget showing a dark 128x64 LIPAR output with a 4 x 2 token mask (no overlay, no
// input pane); returns the output it showed.
lipar::EngineOutput showMaskedOutput(PreviewWidget& widget, std::vector<uint8_t> mask) {
    widget.setOverlayVisible(false);
    widget.setShowInput(false);
    widget.resize(400, 200);
    lipar::EngineOutput output;
    output.mode = lipar::EditMode::Lipar;
    output.output = solidFrame(128, 64, QColor(40, 40, 40));
    output.keep_mask = std::move(mask);
    output.mask_width = 4;
    output.mask_height = 2;
    widget.showOutput(output);
    return output;
}

}  // namespace

class PreviewWidgetTest : public QObject {
    Q_OBJECT

  private slots:
    void paints_a_wide_frame_letterboxed_in_a_square_widget() {
        PreviewWidget widget;
        widget.setOverlayVisible(false);
        widget.resize(400, 400);
        QVERIFY(widget.setPaneFrame(0, twoColourFrame(160, 90)));
        // 16:9 in 400x400: 400x225, centred vertically.
        QCOMPARE(widget.paneImageRect(0), QRect(0, 87, 400, 225));
        const QImage image = render(widget);
        QCOMPARE(image.size(), QSize(400, 400));
        const QColor background = PreviewWidget::backgroundColor();
        for (int x : {0, 150, 399}) {
            QCOMPARE(at(image, x, 0), background);
            QCOMPARE(at(image, x, 86), background);
            QCOMPARE(at(image, x, 312), background);
            QCOMPARE(at(image, x, 399), background);
        }
        QCOMPARE(at(image, 100, 200), kLeft);
        QCOMPARE(at(image, 300, 200), kRight);
        QCOMPARE(at(image, 2, 300), kLeft);
        QCOMPARE(at(image, 397, 100), kRight);
    }

    void paints_a_tall_frame_pillarboxed_in_a_wide_widget() {
        PreviewWidget widget;
        widget.setOverlayVisible(false);
        widget.resize(600, 300);
        QVERIFY(widget.setPaneFrame(0, twoColourFrame(64, 128)));
        QCOMPARE(widget.paneImageRect(0), QRect(225, 0, 150, 300));
        const QImage image = render(widget);
        const QColor background = PreviewWidget::backgroundColor();
        QCOMPARE(at(image, 10, 150), background);
        QCOMPARE(at(image, 224, 150), background);
        QCOMPARE(at(image, 375, 150), background);
        QCOMPARE(at(image, 590, 10), background);
        QCOMPARE(at(image, 260, 150), kLeft);
        QCOMPARE(at(image, 340, 150), kRight);
    }

    void side_by_side_panes_each_keep_their_aspect_ratio() {
        PreviewWidget widget;
        widget.setOverlayVisible(false);
        widget.resize(800, 400);
        lipar::EngineOutput output;
        output.mode = lipar::EditMode::Lipar;
        output.input = solidFrame(128, 64, kLeft);
        output.output = solidFrame(128, 64, kRight);
        widget.showOutput(output);
        QCOMPARE(widget.paneCount(), 2);
        QCOMPARE(widget.paneImageRect(0), QRect(0, 100, 400, 200));
        QCOMPARE(widget.paneImageRect(1), QRect(400, 100, 400, 200));
        QCOMPARE(widget.paneLabel(0), QStringLiteral("Input"));
        const QImage image = render(widget);
        QCOMPARE(at(image, 200, 250), kLeft);
        QCOMPARE(at(image, 600, 250), kRight);
        QCOMPARE(at(image, 200, 50), PreviewWidget::backgroundColor());
        QCOMPARE(at(image, 600, 350), PreviewWidget::backgroundColor());

        widget.setShowInput(false);
        widget.showOutput(output);
        QCOMPARE(widget.paneCount(), 1);
        QCOMPARE(widget.paneImageRect(0), QRect(0, 0, 800, 400));
    }

    void frames_of_the_same_size_reuse_the_image_buffer() {
        PreviewWidget widget;
        widget.resize(320, 240);
        QVERIFY(widget.setPaneFrame(0, twoColourFrame(96, 64, 0)));
        QCOMPARE(widget.imageAllocations(), 1);
        const uchar* bits = widget.paneImage(0).constBits();
        for (int i = 1; i <= 20; ++i) {
            QVERIFY(widget.setPaneFrame(0, twoColourFrame(96, 64, i)));
            widget.grab();  // painting must not detach or reallocate it either
        }
        QCOMPARE(widget.imageAllocations(), 1);
        QCOMPARE(widget.paneImage(0).constBits(), bits);
        // The buffer holds the newest frame.
        QCOMPARE(widget.paneImage(0).pixelColor(0, 0),
                 QColor(kLeft.red() + 20, kLeft.green(), kLeft.blue()));
        QVERIFY(widget.setPaneFrame(0, twoColourFrame(128, 64)));
        QCOMPARE(widget.imageAllocations(), 2);
    }

    void refuses_a_frame_whose_buffer_is_short() {
        PreviewWidget widget;
        lipar::Frame frame = twoColourFrame(16, 16);
        frame.rgb.resize(10);
        QVERIFY(!widget.setPaneFrame(0, frame));
        QVERIFY(!widget.setPaneFrame(PreviewWidget::kMaxPanes, twoColourFrame(16, 16)));
        QCOMPARE(widget.paneCount(), 0);
    }

    void compare_mode_shows_baseline_and_lipar_with_their_own_fps() {
        PreviewWidget widget;
        widget.resize(800, 400);
        lipar::EngineOutput output;
        output.mode = lipar::EditMode::Compare;
        output.input = solidFrame(128, 64, Qt::white);
        output.baseline = solidFrame(128, 64, kLeft);
        output.output = solidFrame(128, 64, kRight);
        widget.showOutput(output);
        lipar::EngineStats stats;
        stats.baseline_ms_per_frame = 100.0;
        stats.lipar_ms_per_frame = 40.0;
        widget.setStats(stats, PresentationStats{});
        QCOMPARE(widget.paneCount(), 2);
        QCOMPARE(widget.paneLabel(0), QStringLiteral("Baseline  10.0 fps"));
        QCOMPARE(widget.paneLabel(1), QStringLiteral("LIPAR  25.0 fps"));
        widget.setOverlayVisible(false);
        const QImage image = render(widget);
        QCOMPARE(at(image, 200, 280), kLeft);
        QCOMPARE(at(image, 600, 280), kRight);
    }

    void mask_heatmap_tints_only_recomputed_tokens_of_the_output() {
        PreviewWidget widget;
        // 4 x 2 tokens; the left column of tokens was recomputed.
        const lipar::EngineOutput output = showMaskedOutput(widget, {1, 0, 0, 0, 1, 0, 0, 0});
        QCOMPARE(widget.mask().keptRatio(), 0.25);
        QImage plain = render(widget);
        QCOMPARE(at(plain, 50, 100), QColor(40, 40, 40));
        widget.setMaskVisible(true);
        const QImage tinted = render(widget);
        const QColor recomputed = at(tinted, 50, 100);
        QVERIFY2(recomputed.red() > 100 && recomputed.blue() < 40, qPrintable(recomputed.name()));
        QCOMPARE(at(tinted, 150, 100), QColor(40, 40, 40));
        QCOMPARE(at(tinted, 350, 20), QColor(40, 40, 40));
        for (int i = 0; i < 5; ++i) {
            widget.showOutput(output);
        }
        QCOMPARE(widget.mask().imageAllocations(), 1);
    }

    void mask_heatmap_draws_the_camera_motion_as_an_arrow() {
        PreviewWidget widget;
        showMaskedOutput(widget, std::vector<uint8_t>(8, 0));
        widget.setMaskVisible(true);
        const QImage still = render(widget);
        lipar::EngineStats stats;
        stats.motion_x = 4.0;  // to the right
        widget.setStats(stats, PresentationStats{});
        QVERIFY(widget.mask().hasMotion());
        widget.setOverlayVisible(false);
        const QImage moving = render(widget);
        // The arrow runs right from the centre of the output, not left of it.
        const QPoint centre(200, 100);
        const QColor right = at(moving, centre.x() + 30, centre.y());
        QVERIFY2(right.blue() > 150 && right.green() > 150, qPrintable(right.name()));
        QCOMPARE(at(moving, centre.x() - 30, centre.y()), at(still, centre.x() - 30, centre.y()));
        QVERIFY(widget.overlay().lines().join('\n').contains(QStringLiteral("camera motion 4.0, 0.0 px/frame")));
    }

    void mask_heatmap_draws_local_motion_as_an_arrow_per_tile() {
        // 8x4 tokens over the 400x200 output: two tiles of 4x4 tokens, centres (100, 100) and
        // (300, 100); the left one's content moves right, the right one's left.
        PreviewWidget widget;
        widget.setOverlayVisible(false);
        widget.setShowInput(false);
        widget.resize(400, 200);
        widget.setMaskVisible(true);
        lipar::EngineOutput output;
        output.mode = lipar::EditMode::Lipar;
        output.output = solidFrame(128, 64, QColor(40, 40, 40));
        output.keep_mask.assign(32, 0);
        output.mask_width = 8;
        output.mask_height = 4;
        widget.showOutput(output);
        const QImage still = render(widget);
        QVERIFY(!widget.mask().hasMotionField());
        output.motion_field.assign(64, 0);
        for (int y = 0; y < 4; ++y) {
            for (int x = 0; x < 8; ++x) output.motion_field[2 * (y * 8 + x)] = x < 4 ? 1 : -1;
        }
        widget.showOutput(output);
        QVERIFY(widget.mask().hasMotionField());
        const QImage moving = render(widget);
        auto cyan = [](const QColor& c) { return c.blue() > 150 && c.green() > 150 && c.red() < 100; };
        QVERIFY2(cyan(at(moving, 130, 100)), qPrintable(at(moving, 130, 100).name()));
        QVERIFY2(cyan(at(moving, 270, 100)), qPrintable(at(moving, 270, 100).name()));
        QCOMPARE(at(moving, 70, 100), at(still, 70, 100));
        QCOMPARE(at(moving, 330, 100), at(still, 330, 100));
        // A field of the wrong size is dropped, not drawn.
        output.motion_field.resize(10);
        widget.showOutput(output);
        QVERIFY(!widget.mask().hasMotionField());
    }

    void overlay_shows_stats_and_the_untrained_badge() {
        PreviewWidget widget;
        lipar::EngineStats stats;
        stats.output_fps = 12.5;
        stats.kept_ratio = 0.68;
        stats.dropped_frames = 3;
        stats.untrained = true;
        stats.stages.denoise_ms = 20.0;
        PresentationStats shown;
        shown.displayFps = 11.0;
        widget.setStats(stats, shown);
        QVERIFY(widget.overlay().untrainedBadgeVisible());
        const QStringList lines = widget.overlay().lines();
        QCOMPARE(lines.value(0), QStringLiteral("12.5 fps output  |  11.0 fps shown"));
        QVERIFY(lines.contains(QStringLiteral("kept tokens 68.0%")));
        QVERIFY(lines.contains(QStringLiteral("dropped frames: input 3, output 0, screen 0")));
        QVERIFY(!lines.join('\n').contains(QStringLiteral("denoise")));
        widget.setStageTimesVisible(true);
        QVERIFY(widget.overlay().lines().join('\n').contains(QStringLiteral("denoise 20")));
        stats.untrained = false;
        widget.setStats(stats, shown);
        QVERIFY(!widget.overlay().untrainedBadgeVisible());
    }

    void overlay_shows_latency_to_the_screen_and_the_engine_p95() {
        PreviewWidget widget;
        lipar::EngineStats stats;
        PresentationStats shown;
        widget.setStats(stats, shown);
        // Nothing measured yet on either side.
        QCOMPARE(widget.overlay().lines().value(1),
                 QStringLiteral("latency to screen p50 / p95 / max -"));
        QCOMPARE(widget.overlay().lines().value(2), QStringLiteral("latency in engine p95 -"));

        stats.latency = {180.0, 260.4, 300.0, 40};
        shown.latency = {212.0, 305.6, 411.0, 36};
        widget.setStats(stats, shown);
        QCOMPARE(widget.overlay().lines().value(1),
                 QStringLiteral("latency to screen p50 / p95 / max 212 / 306 / 411 ms"));
        QCOMPARE(widget.overlay().lines().value(2), QStringLiteral("latency in engine p95 260 ms"));
        // Below 10 ms one decimal.
        shown.latency = {4.24, 8.5, 9.76, 3};
        stats.latency = {3.0, 6.5, 7.0, 3};
        widget.setStats(stats, shown);
        QCOMPARE(widget.overlay().lines().value(1),
                 QStringLiteral("latency to screen p50 / p95 / max 4.2 / 8.5 / 9.8 ms"));
        QCOMPARE(widget.overlay().lines().value(2), QStringLiteral("latency in engine p95 6.5 ms"));
    }

    void overlay_counts_dropped_frames_where_they_were_dropped() {
        PreviewWidget widget;
        lipar::EngineStats stats;
        stats.dropped_frames = 7;  // the engine never took them
        stats.dropped_output = 2;  // nobody took these results
        PresentationStats shown;
        shown.dropped = 5;  // the pacer pushed these out before they were shown
        widget.setStats(stats, shown);
        QVERIFY(widget.overlay().lines().contains(
            QStringLiteral("dropped frames: input 7, output 2, screen 5")));
    }

    void overlay_says_which_prompt_is_being_encoded() {
        PreviewWidget widget;
        lipar::EngineStats stats;
        stats.frames_out = 24;
        widget.setStats(stats, PresentationStats{});
        QVERIFY(!widget.overlay().lines().join('\n').contains(QStringLiteral("encoding")));

        stats.text_status = "encoding 'watercolor' (3.1 s)";
        widget.setStats(stats, PresentationStats{});
        const QString editing = QStringLiteral(
            "encoding prompt 'watercolor' (3.1 s) - editing with the previous prompt");
        QVERIFY(widget.overlay().lines().contains(editing));
        QCOMPARE(OverlayPainter::promptStatusText(stats), editing);

        // The first prompt of a run has nothing to edit with meanwhile.
        stats.frames_out = 0;
        QCOMPARE(OverlayPainter::promptStatusText(stats),
                 QStringLiteral("encoding prompt 'watercolor' (3.1 s) - the first frames wait "
                                "for it"));

        stats.text_status.clear();
        widget.setStats(stats, PresentationStats{});
        QVERIFY(!widget.overlay().lines().join('\n').contains(QStringLiteral("encoding")));
        QVERIFY(OverlayPainter::promptStatusText(stats).isEmpty());
    }

    void a_long_prompt_does_not_push_the_overlay_past_the_picture() {
        PreviewWidget widget;
        widget.resize(600, 200);
        QVERIFY(widget.setPaneFrame(0, solidFrame(64, 64, kRight)));
        QCOMPARE(widget.paneImageRect(0), QRect(200, 0, 200, 200));
        lipar::EngineStats stats;
        stats.frames_out = 1;
        stats.text_status = "encoding '" + std::string(300, 'w') + "' (1.0 s)";
        widget.setStats(stats, PresentationStats{});
        const QImage image = render(widget);
        // The box is at the bottom left of the picture; right of the picture stays background.
        QVERIFY(at(image, 210, 190) != kRight);
        for (int x = 401; x < 600; x += 10) {
            QCOMPARE(at(image, x, 190), PreviewWidget::backgroundColor());
        }
    }

    void overlay_goes_under_the_pictures_when_the_letterbox_bar_has_room() {
        PreviewWidget widget;
        widget.resize(800, 500);
        lipar::EngineOutput output;
        output.mode = lipar::EditMode::Compare;
        output.baseline = solidFrame(128, 64, kLeft);
        output.output = solidFrame(128, 64, kRight);
        widget.showOutput(output);
        QCOMPARE(widget.paneImageRect(0), QRect(0, 150, 400, 200));
        lipar::EngineStats stats;
        stats.text_status = "encoding '" + std::string(300, 'w') + "' (1.0 s)";
        widget.setStats(stats, PresentationStats{});
        const QImage image = render(widget);
        // Both pictures stay whole; the box is in the bar below, under the first picture only.
        QCOMPARE(at(image, 10, 345), kLeft);
        QCOMPARE(at(image, 200, 345), kLeft);
        QCOMPARE(at(image, 410, 345), kRight);
        QVERIFY(at(image, 20, 360) != PreviewWidget::backgroundColor());
        QCOMPARE(at(image, 420, 360), PreviewWidget::backgroundColor());

        // A window too flat for a bar: over the first picture, still not the second.
        widget.resize(800, 200);
        const QImage flat = render(widget);
        QCOMPARE(widget.paneImageRect(0), QRect(0, 0, 400, 200));
        QVERIFY(at(flat, 20, 190) != kLeft);
        QCOMPARE(at(flat, 410, 190), kRight);
    }

    void shows_the_placeholder_until_a_frame_arrives() {
        PreviewWidget widget;
        widget.resize(300, 200);
        widget.setPlaceholderText(QStringLiteral("No model pack at /nowhere"));
        QCOMPARE(widget.paneCount(), 0);
        const QImage image = render(widget);
        // Background with some text pixels in the middle.
        QCOMPARE(at(image, 2, 2), PreviewWidget::backgroundColor());
        bool text = false;
        for (int x = 0; x < 300 && !text; ++x) {
            text = at(image, x, 100) != PreviewWidget::backgroundColor();
        }
        QVERIFY(text);
    }
};

QTEST_MAIN(PreviewWidgetTest)
#include "preview_widget_test.moc"
