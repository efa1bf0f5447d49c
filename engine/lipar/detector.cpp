#include "lipar/detector.h"

#include <cmath>

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timer.h"
#include "lipar/detection_internal.h"
#include "lipar/filters.h"

namespace lipar::accel {

namespace detail {

void check_latents(const torch::Tensor& z) {
    LIPAR_CHECK(z.defined() && z.dim() == 4, StatusCode::ShapeMismatch,
                "duplicate detection needs latents [C, F, H, W], got ",
                z.defined() ? shape_string(z.sizes()) : std::string("an undefined tensor"));
    LIPAR_CHECK(z.size(0) > 0 && z.size(1) > 0 && z.size(2) > 0 && z.size(3) > 0 &&
                    z.size(2) % 2 == 0 && z.size(3) % 2 == 0,
                StatusCode::ShapeMismatch, "latents ", shape_string(z.sizes()),
                " must have C, F >= 1 and an even, non-zero H and W (1x2x2 tokens)");
    LIPAR_CHECK(z.is_floating_point(), StatusCode::Unsupported,
                "duplicate detection needs floating-point latents, got ",
                dtype_name(z.scalar_type()));
}

void fill_kept_ratios(DetectionResult& result) {
    const torch::Tensor per_frame =
        result.keep.to(torch::kFloat).mean({1, 2}).to(torch::kDouble).cpu().contiguous();
    const double* values = per_frame.data_ptr<double>();
    result.kept_ratio_per_frame.assign(values, values + per_frame.numel());
    double total = 0.0;
    for (double value : result.kept_ratio_per_frame) {
        total += value;
    }
    result.kept_ratio = result.kept_ratio_per_frame.empty()
                            ? 1.0
                            : total / double(result.kept_ratio_per_frame.size());
}

torch::Tensor exceeds(const torch::Tensor& distance, double tau) {
    return distance.le(tau).logical_not();
}

}  // namespace detail

void validate_config(const DetectorConfig& config) {
    LIPAR_CHECK(std::isfinite(config.tau1), StatusCode::InvalidArgument,
                "LIPAR tau1 must be a finite number, got ", config.tau1);
    LIPAR_CHECK(std::isfinite(config.tau2), StatusCode::InvalidArgument,
                "LIPAR tau2 must be a finite number, got ", config.tau2);
    LIPAR_CHECK(std::isfinite(config.trim_low) && std::isfinite(config.trim_high) &&
                    config.trim_low >= 0.0 && config.trim_high <= 1.0 &&
                    config.trim_low < config.trim_high,
                StatusCode::InvalidArgument, "LIPAR trimmed-mean band [", config.trim_low, ", ",
                config.trim_high, ") must satisfy 0 <= trim_low < trim_high <= 1");
    LIPAR_CHECK(std::isfinite(config.min_keep_ratio) && config.min_keep_ratio >= 0.0 &&
                    config.min_keep_ratio <= 1.0,
                StatusCode::InvalidArgument, "LIPAR min_keep_ratio must be within [0, 1], got ",
                config.min_keep_ratio);
    LIPAR_CHECK(std::isfinite(config.gaussian_sigma) && config.gaussian_sigma > 0.0,
                StatusCode::InvalidArgument, "LIPAR gaussian_sigma must be positive, got ",
                config.gaussian_sigma);
    LIPAR_CHECK(config.motion == MotionMode::Off || config.motion == MotionMode::Global ||
                    config.motion == MotionMode::Local,
                StatusCode::InvalidArgument, "LIPAR motion mode is not set");
    LIPAR_CHECK(config.motion_tile >= 1 && config.motion_tile <= 64, StatusCode::InvalidArgument,
                "LIPAR motion_tile must be within [1, 64] tokens, got ", config.motion_tile);
    LIPAR_CHECK(config.motion_range >= 0 && config.motion_range <= 64, StatusCode::InvalidArgument,
                "LIPAR motion_range must be within [0, 64] latent pixels, got ", config.motion_range);
    LIPAR_CHECK(config.filters == FilterStyle::Causal || config.filters == FilterStyle::AuthorsStream ||
                    config.filters == FilterStyle::LookAhead,
                StatusCode::InvalidArgument, "LIPAR detection filter style is not valid");
    LIPAR_CHECK(config.reference_refresh == ReferenceRefresh::KeptMask ||
                    config.reference_refresh == ReferenceRefresh::ThresholdMask,
                StatusCode::InvalidArgument, "LIPAR reference_refresh is not set");
}

DuplicateDetector::DuplicateDetector(DetectorConfig config) {
    validate_config(config);
    m_config = config;
}

void DuplicateDetector::set_config(const DetectorConfig& config) {
    validate_config(config);
    m_config = config;
}

bool DuplicateDetector::has_history() const {
    return m_prev_tokens.defined();
}

void DuplicateDetector::reset() {
    m_latent_shape.clear();
    m_prev_tokens = torch::Tensor();
    m_prev_latent = torch::Tensor();
    m_carry = {};
    m_phase = {};
    m_pending_motion = {};
    m_pending_offset = {};
    m_distance_history = torch::Tensor();
    m_median_history = torch::Tensor();
    m_threshold_history = torch::Tensor();
    m_cleaned_history = torch::Tensor();
    m_reference = torch::Tensor();
    m_frames_seen = 0;
    m_pending = false;
    m_pending_tokens = torch::Tensor();
    m_pending_keep = torch::Tensor();
    m_pending_threshold = torch::Tensor();
}

DetectionResult DuplicateDetector::detect(const torch::Tensor& z) {
    Timer timer;
    detail::check_latents(z);
    const DetectorConfig config = m_config;
    const std::vector<int64_t> shape = {z.size(0), z.size(2), z.size(3)};
    if (has_history() && (shape != m_latent_shape || z.device() != m_device)) {
        LIPAR_LOG_INFO("LIPAR detector: latents changed from [C, H, W] = ",
                       shape_string(m_latent_shape), " on ", m_device.str(), " to ",
                       shape_string(shape), " on ", z.device().str(), "; starting a new stream");
        reset();
    }
    if (m_pending) {
        LIPAR_LOG_DEBUG("LIPAR detector: previous block was not committed; using its own mask");
        commit_block(m_pending_keep);
    }
    m_device = z.device();
    m_latent_shape = shape;
    if (!m_gaussian_kernel.defined() || m_gaussian_kernel.device() != m_device ||
        m_gaussian_sigma != config.gaussian_sigma) {
        m_gaussian_kernel = causal_gaussian_kernel(config.gaussian_sigma, z.options());
        m_gaussian_sigma = config.gaussian_sigma;
    }

    const torch::Tensor tokens = patchify_tokens(z);
    const int64_t frames = tokens.size(0), ht = tokens.size(1), wt = tokens.size(2);
    const bool stream_start = !has_history();
    // Frames of this block that have a predecessor, hence a short-term distance.
    const int64_t first = stream_start ? 1 : 0;
    const int64_t count = frames - first;
    const auto float_options = tokens.options();

    DetectionResult result;
    result.distance = torch::zeros({frames, ht, wt}, float_options);
    result.distance_long = torch::zeros({frames, ht, wt}, float_options);
    result.keep = torch::ones({frames, ht, wt}, float_options.dtype(torch::kBool));
    torch::Tensor threshold_mask = result.keep.clone();

    // Motion: each frame's step against its predecessor and its whole-token shift against the
    // reference grid (lipar/motion.h).
    BlockMotion& motion = result.motion;
    motion.step.assign(static_cast<size_t>(frames), Motion{});
    motion.token_shift.assign(static_cast<size_t>(frames), Shift{});
    motion.whole_step.assign(static_cast<size_t>(frames), Shift{});
    torch::Tensor forced;  // bool [F, Ht, Wt]: exposed tokens, always kept (motion only)
    Motion offset = m_carry;
    const torch::Tensor frames_first = z.transpose(0, 1);  // [F, C, H, W]
    const bool local = config.motion == MotionMode::Local;
    if (config.motion != MotionMode::Off && count > 0) {
        const torch::Tensor predecessors =
            stream_start ? frames_first.narrow(0, 0, count)
                         : torch::cat({m_prev_latent.unsqueeze(0).to(z.dtype()),
                                       frames_first.narrow(0, 0, frames - 1)});
        if (local) {
            // Whole tokens per tile: no fractional carry, maps composed exactly.
            motion.source.assign(static_cast<size_t>(frames), identity_map(ht, wt));
            const auto maps = estimate_local_motion(frames_first.narrow(0, first, count), predecessors,
                                                    std::max<int64_t>(1, config.motion_range / 2),
                                                    config.motion_tile);
            for (int64_t i = 0; i < count; ++i) motion.source[static_cast<size_t>(first + i)] = maps[static_cast<size_t>(i)];
            offset = {};
            m_phase = {};
        } else {
            const auto found_motion = estimate_global_motion(frames_first.narrow(0, first, count),
                                                             predecessors, config.motion_range);
            for (int64_t i = 0; i < count; ++i)
                motion.step[static_cast<size_t>(first + i)] = found_motion[static_cast<size_t>(i)];
            if (log_enabled(LogLevel::Debug)) {
                std::string found;
                for (const auto& m : found_motion)
                    found += " (" + std::to_string(m.dx) + ", " + std::to_string(m.dy) + ")";
                LIPAR_LOG_DEBUG("LIPAR detector: motion (dx, dy) per latent frame:", found);
            }
        }
    }
    // Whole-pixel steps that follow the fractional motion without drift: restoration copies by
    // these, so detection compares by them too (a token is a duplicate when restoring it by the
    // step would be faithful). since_block: each frame's displacement from the previous block's
    // last frame, in whose coordinates the long-term reference is held.
    std::vector<Shift> since_block(static_cast<size_t>(frames));
    for (int64_t f = 0; f < frames; ++f) {
        const Motion& step = motion.step[static_cast<size_t>(f)];
        offset = {offset.dy + step.dy, offset.dx + step.dx};
        m_phase = {m_phase.dy + step.dy, m_phase.dx + step.dx};
        const Shift whole{static_cast<int64_t>(std::lround(m_phase.dy)), static_cast<int64_t>(std::lround(m_phase.dx))};
        m_phase = {m_phase.dy - double(whole.dy), m_phase.dx - double(whole.dx)};
        motion.whole_step[static_cast<size_t>(f)] = whole;
        motion.token_shift[static_cast<size_t>(f)] = {latent_to_tokens(offset.dy),
                                                      latent_to_tokens(offset.dx)};
        const Shift before = f > 0 ? since_block[static_cast<size_t>(f - 1)] : Shift{};
        since_block[static_cast<size_t>(f)] = {before.dy + whole.dy, before.dx + whole.dx};
    }
    // Local: each frame's map to the previous block's last frame (the long-term reference's grid).
    const std::vector<SourceMap> since_map = local ? accumulate_maps(motion.source) : std::vector<SourceMap>{};
    if (motion.active()) {
        // Tokens whose content entered the frame since its predecessor (or, with a long-term
        // reference, since the previous block's last frame).
        auto exposed = [&](int64_t f, bool since_reference) {
            const auto i = static_cast<size_t>(f);
            if (local) return exposed_locations(since_reference ? since_map[i] : motion.source[i], ht, wt, z.device());
            return exposed_tokens(z.size(2), z.size(3), since_reference ? since_block[i] : motion.whole_step[i], z.device());
        };
        const bool has_reference = config.long_term && m_reference.defined();
        std::vector<torch::Tensor> masks;
        for (int64_t f = 0; f < frames; ++f)
            masks.push_back(has_reference ? exposed(f, false) | exposed(f, true) : exposed(f, false));
        forced = torch::stack(masks);
    }

    if (count > 0) {
        const torch::Tensor current = tokens.narrow(0, first, count);
        torch::Tensor previous;
        if (local && motion.active()) {
            // Each frame's predecessor tokens gathered along the frame's source map.
            std::vector<torch::Tensor> gathered;
            for (int64_t i = 0; i < count; ++i) {
                const int64_t f = first + i;
                gathered.push_back(gather_tokens(f == 0 ? m_prev_tokens : tokens[f - 1], motion.source[static_cast<size_t>(f)]));
            }
            previous = torch::stack(gathered);
        } else if (motion.active()) {
            // Each frame's predecessor displaced by the frame's step, then cut into tokens.
            std::vector<torch::Tensor> shifted;
            for (int64_t i = 0; i < count; ++i) {
                const int64_t f = first + i;
                const torch::Tensor pred = f == 0 ? m_prev_latent.to(z.dtype()) : frames_first[f - 1];
                shifted.push_back(shift_frames(pred, motion.whole_step[static_cast<size_t>(f)]));
            }
            previous = patchify_tokens(torch::stack(shifted, 1));
        } else {
            previous = stream_start
                           ? tokens.narrow(0, 0, count)
                           : torch::cat({m_prev_tokens.unsqueeze(0), tokens.narrow(0, 0, frames - 1)});
        }
        torch::Tensor raw = trimmed_mean_abs_diff(current, previous, config.trim_low, config.trim_high);
        // Local motion: an exposed token (always kept) has no predecessor to compare with; its
        // distance must not reach its neighbours through the co-located filters.
        const torch::Tensor exposed_here = local && forced.defined() ? forced.narrow(0, first, count) : torch::Tensor();
        if (exposed_here.defined()) raw = raw.masked_fill(exposed_here, 0);
        // Filters that follow the motion run in the reference grid's coordinates (where the
        // long-term reference and the filters' histories are held): each frame's maps are moved
        // back by its whole-token shift, filtered, and the results moved to the frame's place.
        const bool follow = config.filters_follow_motion && motion.active() && !local;
        auto to_grid = [&](const torch::Tensor& maps, int64_t sign) {
            if (!follow) return maps;
            std::vector<torch::Tensor> moved;
            for (int64_t i = 0; i < count; ++i) {
                const Shift ts = motion.token_shift[static_cast<size_t>(first + i)];
                moved.push_back(shift_frames(maps[i], Shift{sign * ts.dy, sign * ts.dx}));
            }
            return torch::stack(moved);
        };
        const torch::Tensor raw_grid = to_grid(raw, -1);
        // Exposed tokens enter the filters where they follow the motion (they stay in place on
        // the grid); with co-located filters under local motion they would be smeared over the
        // block's frames, so they are only added to the final mask.
        const torch::Tensor forced_grid = forced.defined() && !local ? to_grid(forced.narrow(0, first, count), -1)
                                                                     : torch::Tensor();
        // The authors' streaming filters restart at each block and look ahead inside it.
        const bool authors = config.filters == FilterStyle::AuthorsStream;
        const bool ahead = config.filters == FilterStyle::LookAhead;
        const torch::Tensor median = authors ? centred_median3d(raw_grid)
                                     : ahead ? centred_median3d(raw_grid, m_distance_history)
                                             : causal_median3d(raw_grid, m_distance_history);
        const torch::Tensor smoothed = causal_gaussian3d(
            median, authors ? torch::Tensor() : m_median_history, m_gaussian_kernel);
        const torch::Tensor used = config.smooth ? smoothed : raw_grid;
        torch::Tensor threshold = detail::exceeds(used, config.tau1);
        if (config.long_term && !authors && m_reference.defined()) {
            torch::Tensor reference = m_reference;
            if (motion.active()) {
                std::vector<torch::Tensor> displaced;
                for (int64_t i = 0; i < count; ++i)
                    displaced.push_back(local ? gather_tokens(m_reference, since_map[static_cast<size_t>(first + i)])
                                              : shift_tokens(m_reference, since_block[static_cast<size_t>(first + i)]));
                reference = torch::stack(displaced);
            }
            const torch::Tensor distance_long =
                trimmed_mean_abs_diff(current, reference, config.trim_low, config.trim_high);
            torch::Tensor long_mask = detail::exceeds(distance_long, config.tau2);
            if (exposed_here.defined()) long_mask = long_mask & exposed_here.logical_not();
            threshold = threshold | to_grid(long_mask, -1);
            result.distance_long.narrow(0, first, count).copy_(distance_long);
        }
        if (forced_grid.defined()) threshold = threshold | forced_grid;
        // The clean-up chain always runs so that its history stays valid if cleanup is toggled.
        const torch::Tensor cleaned = close2d(open2d(
            authors ? centred_median3d_mask(threshold)
            : ahead ? centred_median3d_mask(threshold, m_threshold_history)
                    : median3d_mask(threshold, m_threshold_history)));
        torch::Tensor final_mask = !config.cleanup ? threshold
                                   : authors       ? look_ahead_dilate(cleaned)
                                                   : causal_dilate(cleaned, m_cleaned_history);
        final_mask = to_grid(final_mask, 1);
        if (forced.defined()) final_mask = final_mask | forced.narrow(0, first, count);
        if (config.min_keep_ratio > 0.0) {
            final_mask = enforce_min_keep_ratio(final_mask, config.min_keep_ratio);
        }
        result.keep.narrow(0, first, count).copy_(final_mask);
        result.distance.narrow(0, first, count).copy_(to_grid(used, 1));
        threshold_mask.narrow(0, first, count).copy_(to_grid(threshold, 1));

        m_distance_history = last_frames(m_distance_history, raw_grid, 2);
        m_median_history = last_frames(m_median_history, median, 1);
        m_threshold_history = last_frames(m_threshold_history, threshold, 2);
        m_cleaned_history = last_frames(m_cleaned_history, cleaned, 1);
        if (follow) {
            // The next block's reference grid is this block's last frame (whole tokens).
            const Shift grid = motion.reference_shift();
            for (auto* history : {&m_distance_history, &m_median_history, &m_threshold_history,
                                  &m_cleaned_history})
                *history = shift_frames(*history, grid);
        }
    }

    m_prev_tokens = tokens[frames - 1].clone();
    m_prev_latent = z.select(1, frames - 1).clone();
    m_frames_seen += frames;
    m_pending = true;
    m_pending_tokens = tokens;
    m_pending_keep = result.keep;
    m_pending_threshold = threshold_mask;
    m_pending_refresh = config.reference_refresh;
    m_pending_motion = motion;
    m_pending_offset = offset;

    detail::fill_kept_ratios(result);
    result.detect_ms = timer.elapsed_ms();
    return result;
}

void DuplicateDetector::commit_block(const torch::Tensor& keep) {
    LIPAR_CHECK(m_pending, StatusCode::InvalidArgument,
                "LIPAR commit_block() needs a block from detect() that is not committed yet");
    LIPAR_CHECK(keep.defined() && keep.sizes() == m_pending_keep.sizes(), StatusCode::ShapeMismatch,
                "LIPAR commit_block(): keep mask ",
                keep.defined() ? shape_string(keep.sizes()) : std::string("undefined"),
                " does not match the detected block ", shape_string(m_pending_keep.sizes()));
    torch::Tensor mask = keep.to(m_device);
    mask = mask.scalar_type() == torch::kBool ? mask : mask.ne(0);
    const torch::Tensor used =
        m_pending_refresh == ReferenceRefresh::ThresholdMask ? m_pending_threshold : mask;
    if (m_pending_motion.active()) {
        // Frame by frame in each frame's own coordinates: move the reference along with the
        // frame, then write the frame's kept tokens. It ends in the last frame's coordinates.
        torch::Tensor reference = m_reference.defined() ? m_reference : m_pending_tokens[0];
        const torch::Tensor kept = used.to(torch::kBool).unsqueeze(-1);
        for (int64_t f = 0; f < m_pending_tokens.size(0); ++f) {
            reference = m_pending_motion.local()
                            ? gather_tokens(reference, m_pending_motion.source[static_cast<size_t>(f)])
                            : shift_tokens(reference, m_pending_motion.whole_step[static_cast<size_t>(f)]);
            reference = torch::where(kept[f], m_pending_tokens[f], reference);
        }
        m_reference = reference;
    } else {
        m_reference = refresh_reference(m_reference, m_pending_tokens, used);
    }
    const Shift grid = m_pending_motion.reference_shift();
    m_carry = {m_pending_offset.dy - 2.0 * double(grid.dy), m_pending_offset.dx - 2.0 * double(grid.dx)};
    m_pending_motion = {};
    m_pending_offset = {};
    m_pending = false;
    m_pending_tokens = torch::Tensor();
    m_pending_keep = torch::Tensor();
    m_pending_threshold = torch::Tensor();
}

}  // namespace lipar::accel
