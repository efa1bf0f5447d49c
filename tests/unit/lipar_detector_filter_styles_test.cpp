// Detection's temporal filter styles: LookAhead (the editor's default: medians one frame ahead
// inside the block, history carried), Causal, and the authors' streaming filters (AuthorsStream,
// kept to measure the difference: look-ahead inside a block, restarts at every block, no
// long-term check).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "lipar/detector.h"
#include "lipar/filters.h"
#include "unit/lipar_detector_fixtures.h"

namespace lipar::accel {
namespace {

using testing::frames_of;
using testing::kGrid;
using testing::stream_keep;

TEST(LiparFilterStyles, centred_median_reads_the_previous_and_the_next_frame_with_ends_replicated) {
    const torch::Tensor ones = torch::ones({4, 4});
    const torch::Tensor x = frames_of({ones * 1, ones * 5, ones * 9, ones * 2});
    // f0: (1,1,5) f1: (1,5,9) f2: (5,9,2) f3: (9,2,2); the causal one gives 1, 1, 5, 5
    EXPECT_TRUE(torch::equal(centred_median3d(x), frames_of({ones * 1, ones * 5, ones * 5, ones * 2})));
    const torch::Tensor mask = frames_of({ones, ones * 0, ones * 0, ones}) > 0.5;
    // f0: (1,1,0) -> kept, f1: (1,0,0), f2: (0,0,1), f3: (0,1,1) -> kept
    const torch::Tensor m = centred_median3d_mask(mask);
    EXPECT_TRUE(m[0].all().item<bool>());
    EXPECT_FALSE(m[1].any().item<bool>());
    EXPECT_FALSE(m[2].any().item<bool>());
    EXPECT_TRUE(m[3].all().item<bool>());
}

TEST(LiparFilterStyles, centred_median_with_history_reads_the_last_history_frame_behind_the_first) {
    const torch::Tensor ones = torch::ones({4, 4});
    const torch::Tensor x = frames_of({ones * 1, ones * 5, ones * 9, ones * 2});
    // f0: (7,1,5) -> 5 instead of (1,1,5) -> 1; the rest as without history
    const torch::Tensor history = frames_of({ones * 100, ones * 7});
    EXPECT_TRUE(torch::equal(centred_median3d(x, history), frames_of({ones * 5, ones * 5, ones * 5, ones * 2})));
    EXPECT_TRUE(torch::equal(centred_median3d(x, frames_of({ones * 0})), frames_of({ones * 1, ones * 5, ones * 5, ones * 2})));
}

TEST(LiparFilterStyles, look_ahead_dilation_marks_the_same_and_the_previous_frame) {
    torch::Tensor x = torch::zeros({4, 11, 11}, torch::kBool);
    x[2].narrow(0, 4, 3).narrow(1, 4, 3).fill_(true);
    const torch::Tensor out = look_ahead_dilate(x);
    torch::Tensor footprint = torch::zeros({11, 11}, torch::kBool);
    footprint.narrow(0, 2, 7).narrow(1, 2, 7).fill_(true);
    EXPECT_FALSE(out[0].any().item<bool>());
    EXPECT_TRUE(torch::equal(out[1], footprint));
    EXPECT_TRUE(torch::equal(out[2], footprint));
    EXPECT_FALSE(out[3].any().item<bool>());
    // the causal dilation of the same mask: frames 2 and 3
    const torch::Tensor causal = causal_dilate(x, {});
    EXPECT_FALSE(causal[1].any().item<bool>());
    EXPECT_TRUE(torch::equal(causal[3], footprint));
}

// Static background; the token square [5, 10)^2 changes by `delta` per frame from `start` on.
torch::Tensor change_from(int64_t frames, int64_t start, double delta) {
    torch::Tensor z = testing::square_change_latents(frames, 0.0);
    for (int64_t f = start; f < frames; ++f)
        z.narrow(1, f, 1).narrow(2, 10, 10).narrow(3, 10, 10).add_(delta * double(f - start + 1));
    return z;
}

bool kept(const torch::Tensor& keep, int64_t frame, int64_t row, int64_t col) {
    return keep[frame][row][col].item<bool>();
}

// The keep masks of z streamed in blocks of 3 with the given filter style.
torch::Tensor keep_with(FilterStyle style, const torch::Tensor& z) {
    DetectorConfig config;
    config.filters = style;
    return stream_keep(z, config, 3);
}

TEST(LiparFilterStyles, restarted_look_ahead_filters_keep_a_change_from_a_blocks_first_frame) {
    // The square starts changing at frame 3, the first frame of the second block of 3.
    const torch::Tensor z = change_from(9, 3, 0.5);
    const torch::Tensor ours = keep_with(FilterStyle::Causal, z);
    const torch::Tensor theirs = keep_with(FilterStyle::AuthorsStream, z);
    // Ours: the causal median needs two changed frames (3, 4) before frame 4 passes; theirs
    // restarts at frame 3 with frame 3 replicated in front and reads frame 4 ahead.
    EXPECT_FALSE(kept(ours, 3, 7, 7));
    EXPECT_TRUE(kept(theirs, 3, 7, 7));
    for (int64_t f = 4; f < 9; ++f) {
        EXPECT_TRUE(kept(ours, f, 7, 7)) << f;
        EXPECT_TRUE(kept(theirs, f, 7, 7)) << f;
    }
    // The still background stays pruned in both after the stream's first frame.
    for (int64_t f = 1; f < 9; ++f) {
        EXPECT_FALSE(kept(ours, f, 0, kGrid - 1)) << f;
        EXPECT_FALSE(kept(theirs, f, 0, kGrid - 1)) << f;
    }
}

TEST(LiparFilterStyles, the_authors_stream_skips_the_long_term_check_so_slow_drift_stays_pruned) {
    // 0.12 per frame: below tau1 (0.15) frame to frame, past tau2 (0.3) after three frames.
    const torch::Tensor z = change_from(12, 1, 0.12);
    const torch::Tensor ours = keep_with(FilterStyle::Causal, z);
    const torch::Tensor theirs = keep_with(FilterStyle::AuthorsStream, z);
    EXPECT_TRUE(ours.narrow(0, 1, 11).select(1, 7).select(1, 7).any().item<bool>());
    EXPECT_FALSE(theirs.narrow(0, 1, 11).select(1, 7).select(1, 7).any().item<bool>());
}

TEST(LiparFilterStyles, look_ahead_filters_keep_a_change_from_its_first_frame_and_keep_the_long_term_check) {
    // A change from the first frame of a block and from the middle of one (frame 4): both kept
    // from their first changed frame, where the causal filters keep them a frame later.
    for (int64_t start : {3, 4}) {
        const torch::Tensor z = change_from(9, start, 0.5);
        const torch::Tensor keep = keep_with(FilterStyle::LookAhead, z);
        const torch::Tensor causal = keep_with(FilterStyle::Causal, z);
        EXPECT_TRUE(kept(keep, start, 7, 7)) << start;
        EXPECT_FALSE(kept(causal, start, 7, 7)) << start;
        EXPECT_FALSE(kept(keep, start - 1, 7, 7)) << "the frame before the change: " << start;
        for (int64_t f = 1; f < 9; ++f) EXPECT_FALSE(kept(keep, f, 0, kGrid - 1)) << f;
    }
    // Slow drift under tau1 is still caught by the long-term check.
    const torch::Tensor drift = keep_with(FilterStyle::LookAhead, change_from(12, 1, 0.12));
    EXPECT_TRUE(drift.narrow(0, 1, 11).select(1, 7).select(1, 7).any().item<bool>());
}

TEST(LiparFilterStyles, whole_sequence_detection_refuses_the_authors_stream_filters) {
    DetectorConfig authors;
    authors.filters = FilterStyle::AuthorsStream;
    EXPECT_THROW(detect_sequence(change_from(6, 1, 0.5), authors, 3), Error);
}

}  // namespace
}  // namespace lipar::accel
