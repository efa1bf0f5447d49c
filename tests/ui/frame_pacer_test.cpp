// FramePacer: a block of results is played out in order at the pace of its timestamps, a display
// that falls more than a block behind catches up, a full ring drops the oldest, and showing a
// result swaps buffers instead of allocating.
#include <QTest>

#include "frame_pacer.h"

namespace {

void fill(lipar::EngineOutput& out, int64_t index, double pts_s) {
    out.index = index;
    out.output.resize(8, 4);
    out.output.pts_s = pts_s;
}

// Pushes `count` results at `fps` starting at `first`, as one drain would.
void pushBlock(FramePacer& pacer, int64_t first, int count, double fps) {
    for (int i = 0; i < count; ++i) {
        fill(pacer.slotForNext(), first + i, static_cast<double>(first + i) / fps);
        pacer.commit();
    }
    pacer.noteBurst(count);
}

}  // namespace

class FramePacerTest : public QObject {
    Q_OBJECT

  private slots:
    void plays_a_block_out_in_order_at_the_source_rate() {
        FramePacer pacer;
        pushBlock(pacer, 0, 12, 16.0);
        QCOMPARE(pacer.size(), 12);
        lipar::EngineOutput shown;
        for (int64_t i = 0; i < 12; ++i) {
            QVERIFY(pacer.takeOldest(shown));
            QCOMPARE(shown.index, i);
            QCOMPARE(pacer.delayAfter(shown), i < 11 ? 63 : -1);  // 1/16 s, rounded
        }
        QVERIFY(pacer.isEmpty());
        QVERIFY(!pacer.takeOldest(shown));
        QCOMPARE(shown.index, int64_t{11});
    }

    void catches_up_when_more_than_a_block_waits() {
        FramePacer pacer;
        pushBlock(pacer, 0, 12, 20.0);
        lipar::EngineOutput shown;
        QVERIFY(pacer.takeOldest(shown));
        QCOMPARE(pacer.delayAfter(shown), 50);
        pushBlock(pacer, 12, 12, 20.0);  // the next block arrives with 11 still waiting
        QCOMPARE(pacer.delayAfter(shown), 25);
        while (pacer.size() > 12) {
            QVERIFY(pacer.takeOldest(shown));
        }
        QCOMPARE(pacer.delayAfter(shown), 50);
    }

    void odd_timestamps_fall_back_to_a_fixed_interval() {
        FramePacer pacer;
        fill(pacer.slotForNext(), 80, 5.0);
        pacer.commit();
        fill(pacer.slotForNext(), 0, 0.0);  // a looping file starts over
        pacer.commit();
        pacer.noteBurst(2);
        lipar::EngineOutput shown;
        QVERIFY(pacer.takeOldest(shown));
        QCOMPARE(pacer.delayAfter(shown), FramePacer::kFallbackIntervalMs);
    }

    void a_full_ring_drops_the_oldest() {
        FramePacer pacer(4);
        pushBlock(pacer, 0, 6, 10.0);
        QCOMPARE(pacer.size(), 4);
        QCOMPARE(pacer.dropped(), int64_t{2});
        lipar::EngineOutput shown;
        QVERIFY(pacer.takeOldest(shown));
        QCOMPARE(shown.index, int64_t{2});
    }

    void a_drain_that_brings_nothing_drops_nothing_from_a_full_ring() {
        FramePacer pacer(4);
        pushBlock(pacer, 0, 4, 10.0);
        QCOMPARE(pacer.size(), 4);
        pacer.slotForNext();  // take_next returned false: nothing new
        QCOMPARE(pacer.size(), 4);
        QCOMPARE(pacer.dropped(), int64_t{0});
        lipar::EngineOutput shown;
        QVERIFY(pacer.takeOldest(shown));
        QCOMPARE(shown.index, int64_t{0});
    }

    void an_unfilled_slot_is_not_queued() {
        FramePacer pacer;
        pacer.slotForNext();  // take_next returned false: no commit
        QVERIFY(pacer.isEmpty());
        pushBlock(pacer, 7, 1, 10.0);
        lipar::EngineOutput shown;
        QVERIFY(pacer.takeOldest(shown));
        QCOMPARE(shown.index, int64_t{7});
    }

    void showing_swaps_buffers_without_allocating() {
        FramePacer pacer(2);
        lipar::EngineOutput shown;
        fill(shown, -1, 0.0);  // the result shown before
        const uint8_t* previous = shown.output.rgb.data();
        lipar::EngineOutput& slot = pacer.slotForNext();
        fill(slot, 0, 0.0);
        const uint8_t* result = slot.output.rgb.data();
        pacer.commit();
        QVERIFY(pacer.takeOldest(shown));
        QCOMPARE(shown.output.rgb.data(), result);  // the result's own buffer, not a copy
        // The previous buffer went back into the ring, for a later result of the engine (the
        // ring has one spare slot beyond its capacity).
        fill(pacer.slotForNext(), 1, 0.1);
        pacer.commit();
        fill(pacer.slotForNext(), 2, 0.2);
        pacer.commit();
        QCOMPARE(pacer.size(), 2);
        QCOMPARE(pacer.slotForNext().output.rgb.data(), previous);
    }
};

QTEST_MAIN(FramePacerTest)
#include "frame_pacer_test.moc"
