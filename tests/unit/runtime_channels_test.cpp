// The runtime's hand-off pieces without a model: stats windows, input and output channels.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/error.h"
#include "runtime/input_channel.h"
#include "runtime/output_channel.h"
#include "runtime/recorder.h"
#include "runtime/stats_window.h"

namespace lipar::runtime {
namespace {

using std::chrono::milliseconds;

Frame tiny_frame(int64_t index) {
    Frame f;
    f.resize(2, 2);
    f.index = index;
    return f;
}

EngineOutput result(int64_t index) {
    EngineOutput o;
    o.index = index;
    return o;
}

}  // namespace

TEST(RuntimeStatsWindow, rate_counts_only_the_last_second_and_mean_keeps_the_newest_sample) {
    StatsWindow w(1.0, 8);
    const auto t0 = Clock::now();
    EXPECT_EQ(w.rate(t0), 0.0);
    EXPECT_EQ(w.mean(t0, -1.0), -1.0);
    for (int i = 0; i < 5; ++i)
        w.add(t0 + milliseconds(100 * i), 10.0 * i);  // 0..400 ms
    EXPECT_DOUBLE_EQ(w.rate(t0 + milliseconds(400)), 5.0);
    EXPECT_DOUBLE_EQ(w.rate(t0 + milliseconds(1250)), 2.0);  // 300 and 400 ms remain
    EXPECT_DOUBLE_EQ(w.mean(t0 + milliseconds(1250)), 35.0);
    EXPECT_DOUBLE_EQ(w.mean(t0 + milliseconds(5000)), 40.0);  // none in window: the newest
    for (int i = 0; i < 20; ++i)
        w.add(t0 + milliseconds(500 + i), 1.0);  // ring of 8 overflows
    EXPECT_EQ(w.size(), 8u);
    EXPECT_DOUBLE_EQ(w.rate(t0 + milliseconds(600)), 8.0);
}

TEST(RuntimeStatsWindow, weighted_mean_is_total_time_over_total_frames) {
    StatsWindow w(1.0, 16);
    const auto t0 = Clock::now();
    w.add(t0, 10.0, 9.0);  // a block of 9 frames at 10 ms each
    w.add(t0, 40.0, 3.0);  // a block of 3 frames at 40 ms each
    EXPECT_DOUBLE_EQ(w.mean(t0), (90.0 + 120.0) / 12.0);
}

TEST(RuntimeInputChannel, realtime_takes_an_even_subsample_of_what_waits_and_counts_drops) {
    StatsCollector stats;
    InputChannel input(stats);
    input.set_block_frames(4);  // at most 16 frames wait
    const uint64_t gen = input.open(Pacing::Realtime, true, -1);
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::Reset);  // a new source
    // Fewer than needed: all of them, in order.
    for (int64_t i = 0; i < 2; ++i) ASSERT_TRUE(input.push(gen, tiny_frame(i)));
    InputEvent e = input.wait_event(4);
    ASSERT_EQ(e.kind, InputEvent::Kind::Frame);
    ASSERT_EQ(e.frames.size(), 2u);
    EXPECT_EQ(e.frames[0].input_index(), 0);
    EXPECT_EQ(e.frames[1].input_index(), 1);
    EXPECT_EQ(e.pacing, Pacing::Realtime);
    // 20 arrive: at the 17th the 16 waiting ones are thinned to every other one (2..16 kept:
    // 3, 5, ..., 17), then 18..21 join; the block takes 4 evenly over that span.
    for (int64_t i = 2; i < 22; ++i) ASSERT_TRUE(input.push(gen, tiny_frame(i)));
    EXPECT_EQ(stats.snapshot(Clock::now()).dropped_frames, 8);
    e = input.wait_event(4);
    ASSERT_EQ(e.frames.size(), 4u);
    std::vector<int64_t> got;
    for (const auto& f : e.frames) got.push_back(f.input_index());
    EXPECT_EQ(got, (std::vector<int64_t>{3, 11, 17, 21}));
    EXPECT_EQ(stats.snapshot(Clock::now()).dropped_frames, 8 + 8);
    EXPECT_EQ(stats.snapshot(Clock::now()).frames_in, 22);
    input.end_of_stream(gen);
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::EndOfStream);
    input.stop();
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::Stop);
    EXPECT_FALSE(input.push(gen, tiny_frame(23)));
}

TEST(RuntimeInputChannel, realtime_frames_before_an_end_of_stream_are_all_taken_in_order) {
    StatsCollector stats;
    InputChannel input(stats);
    input.set_block_frames(4);
    const uint64_t gen = input.open(Pacing::Realtime, true, -1);
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::Reset);
    for (int64_t i = 0; i < 6; ++i) ASSERT_TRUE(input.push(gen, tiny_frame(i)));
    input.end_of_stream(gen);
    InputEvent e = input.wait_event(4);
    ASSERT_EQ(e.frames.size(), 4u);
    EXPECT_EQ(e.frames[3].input_index(), 3);
    e = input.wait_event(4);
    ASSERT_EQ(e.frames.size(), 2u);
    EXPECT_EQ(e.frames[1].input_index(), 5);
    EXPECT_EQ(input.wait_event(4).kind, InputEvent::Kind::EndOfStream);
    EXPECT_EQ(stats.snapshot(Clock::now()).dropped_frames, 0);
}

TEST(RuntimeInputChannel, numbers_unindexed_frames_ends_at_max_frames_and_keeps_the_end_in_order) {
    StatsCollector stats;
    InputChannel input(stats);
    input.open(Pacing::EveryFrame, true, 3);
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::Reset);
    EXPECT_TRUE(input.push_external(tiny_frame(-1)));
    EXPECT_TRUE(input.push_external(tiny_frame(5)));
    EXPECT_TRUE(input.push_external(tiny_frame(-1)));
    EXPECT_FALSE(input.push_external(tiny_frame(-1)));  // max_frames
    EXPECT_EQ(input.wait_event().frames.at(0).input_index(), 0);
    EXPECT_EQ(input.wait_event().frames.at(0).input_index(), 5);
    EXPECT_EQ(input.wait_event().frames.at(0).input_index(), 6);
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::EndOfStream);
    input.close();
    // Frames after an end of stream belong to the next stream: the end comes first.
    const uint64_t gen = input.open(Pacing::EveryFrame, true, -1);
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::Reset);
    EXPECT_TRUE(input.push(gen, tiny_frame(0)));
    input.end_of_stream(gen);
    EXPECT_TRUE(input.push(gen, tiny_frame(1)));
    EXPECT_EQ(input.wait_event().frames.at(0).input_index(), 0);
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::EndOfStream);
    EXPECT_EQ(input.wait_event().frames.at(0).input_index(), 1);
    input.close();
    EXPECT_FALSE(input.push_external(tiny_frame(-1)));  // no external source
}

TEST(RuntimeInputChannel, every_frame_producer_waits_for_room_and_is_released_by_a_new_source) {
    StatsCollector stats;
    InputChannel input(stats);
    input.set_block_frames(2);  // capacity 4
    const uint64_t gen = input.open(Pacing::EveryFrame, false, -1);
    std::atomic<int> accepted{0};
    std::thread producer([&] {
        for (int64_t i = 0;; ++i) {
            if (!input.push(gen, tiny_frame(i)))
                return;
            ++accepted;
        }
    });
    // Taking frames makes room: the producer delivers every frame in order.
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::Reset);
    for (int64_t i = 0; i < 20; ++i) {
        InputEvent e = input.wait_event();
        ASSERT_EQ(e.kind, InputEvent::Kind::Frame);
        ASSERT_EQ(e.frames.at(0).input_index(), i);
    }
    input.open(Pacing::EveryFrame, true, -1);  // replaces the source: its producer is refused
    producer.join();
    EXPECT_GE(accepted.load(), 20);
    EXPECT_LE(accepted.load(), 24);
    EXPECT_EQ(stats.snapshot(Clock::now()).dropped_frames, 0);
    EXPECT_EQ(input.wait_event().kind, InputEvent::Kind::Reset);
}

TEST(RuntimeInputChannel, stop_releases_a_producer_waiting_on_a_full_queue) {
    StatsCollector stats;
    InputChannel input(stats);
    input.set_block_frames(2);
    const uint64_t gen = input.open(Pacing::EveryFrame, false, -1);
    std::atomic<int> accepted{0};
    std::thread producer([&] {
        while (input.push(gen, tiny_frame(-1)))
            ++accepted;
    });
    // Nobody consumes: exactly 4 frames fit, the 5th push waits until stop().
    input.stop();
    producer.join();
    EXPECT_LE(accepted.load(), 4);
}

TEST(RuntimeOutputChannel, wakes_once_until_the_consumer_takes_and_take_latest_skips_older) {
    OutputChannel out(8);
    std::atomic<int> wakeups{0};
    out.set_wakeup([&] { ++wakeups; });
    out.publish({result(1), result(2)}, false);
    out.publish({result(3)}, false);
    out.report_error(Status(StatusCode::IoError, "disk full"));
    EXPECT_EQ(wakeups.load(), 1);
    EngineOutput o;
    ASSERT_TRUE(out.take_latest(o));
    EXPECT_EQ(o.index, 3);
    EXPECT_FALSE(out.take_next(o));
    out.publish({result(4), result(5)}, false);
    EXPECT_EQ(wakeups.load(), 2);
    ASSERT_TRUE(out.take_next(o));
    EXPECT_EQ(o.index, 4);
    out.notify();
    EXPECT_EQ(wakeups.load(), 3);
    auto e = out.take_error();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code, StatusCode::IoError);
    EXPECT_FALSE(out.take_error().has_value());
}

TEST(RuntimeOutputChannel, realtime_results_push_out_the_oldest_when_full) {
    OutputChannel out(3);
    out.publish({result(1), result(2), result(3), result(4), result(5)}, false);
    EngineOutput o;
    ASSERT_TRUE(out.take_next(o));
    EXPECT_EQ(o.index, 3);
}

TEST(RuntimeOutputChannel, every_frame_publisher_waits_for_the_consumer_and_stop_releases_it) {
    OutputChannel out(2);
    std::mutex m;
    std::condition_variable cv;
    bool woken = false;
    out.set_wakeup([&] {
        std::lock_guard<std::mutex> lock(m);
        woken = true;
        cv.notify_all();
    });
    std::atomic<bool> delivered{true};
    std::thread engine([&] {
        std::vector<EngineOutput> batch;
        for (int i = 0; i < 6; ++i)
            batch.push_back(result(i));
        out.publish(std::move(batch), true);
        delivered = out.publish({result(6), result(7), result(8)}, true);
    });
    // Take the first six in order as they come; then stop while the publisher waits.
    std::vector<int64_t> seen;
    while (seen.size() < 6) {
        {
            std::unique_lock<std::mutex> lock(m);
            ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return woken; }));
            woken = false;
        }
        EngineOutput o;
        while (seen.size() < 6 && out.take_next(o))
            seen.push_back(o.index);
    }
    for (int64_t i = 0; i < 6; ++i)
        EXPECT_EQ(seen[static_cast<size_t>(i)], i);
    out.stop();
    engine.join();
    EXPECT_FALSE(delivered.load());
}

TEST(RuntimeRecorder, side_by_side_puts_the_left_frame_first_on_every_row) {
    Frame left, right;
    left.resize(2, 2);
    right.resize(3, 2);
    std::fill(left.rgb.begin(), left.rgb.end(), 10);
    std::fill(right.rgb.begin(), right.rgb.end(), 200);
    right.index = 7;
    const Frame f = side_by_side(left, right);
    EXPECT_EQ(f.width, 5);
    EXPECT_EQ(f.height, 2);
    EXPECT_EQ(f.index, 7);
    EXPECT_EQ(f.pixel(1, 1)[2], 10);
    EXPECT_EQ(f.pixel(2, 1)[0], 200);
    Frame shorter;
    shorter.resize(2, 1);
    EXPECT_THROW(side_by_side(left, shorter), Error);
}

}  // namespace lipar::runtime
