#pragma once
// Motion-compensated duplicate detection (issue 15): a camera pan moves every latent patch, so
// co-located comparison finds almost no duplicates. With motion compensation each latent frame's
// global translation against its predecessor is estimated on the clean source latents, and every
// comparison, restoration and recovery looks at the *displaced* predecessor instead of the
// co-located one. docs/LIPAR_DETECTION.md ("Motion compensation") states the conventions.
//
// Convention: a displacement d = (dy, dx) means that content at p in the earlier frame is at p + d
// in the later one; shift(x, d)[p] = x[p - d] (the border is replicated where p - d falls outside,
// and those positions are "exposed": they have no predecessor and are always recomputed).
//
// Units: motion is estimated in latent pixels (8 video pixels with the usual autoencoders), to a
// fraction of a pixel, and followed in whole latent pixels without drift: detection and
// restoration both shift by these whole steps (the detector's long-term reference is moved along
// with every frame). Attention Recovery's clean K/V exist per token, on the 2x coarser grid: they
// are moved by whole tokens, with the remainder carried to the next block.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lipar::accel {

enum class MotionMode {
    Invalid = 0,
    Off,     // co-located comparison (the paper's method)
    Global,  // one translation per latent frame, estimated on the source latents
    Local,   // one whole-token translation per tile of each latent frame (block matching)
};

// Local motion as a map on the token grid: for each token location of a frame (row-major,
// y * Wt + x), the location in the earlier frame its content came from, or -1 where that falls
// outside the frame (exposed: no predecessor, always recomputed).
using SourceMap = std::vector<int64_t>;


struct Shift {
    int64_t dy = 0, dx = 0;
    bool zero() const { return dy == 0 && dx == 0; }
    bool operator==(const Shift& o) const { return dy == o.dy && dx == o.dx; }
    bool operator!=(const Shift& o) const { return !(*this == o); }
};

// A translation in latent pixels, to a fraction of a pixel.
struct Motion {
    double dy = 0, dx = 0;
};

// What the detector found for one block, consumed by the prune plan and restoration.
struct BlockMotion {
    // Per frame: displacement from its predecessor (the previous block's last frame for frame 0),
    // in latent pixels, fractional.
    std::vector<Motion> step;
    // Per frame: the step in whole latent pixels, rounded so that the sum follows the fractional
    // steps without drift (restoration copies whole pixels: no blur builds up).
    std::vector<Shift> whole_step;
    // Per frame: whole-token displacement of the frame against the reference grid (the grid the
    // long-term references are held in at the start of the block).
    std::vector<Shift> token_shift;
    // Local mode only (step, whole_step and token_shift then stay zero): per frame, the source
    // map against its predecessor, whole tokens.
    std::vector<SourceMap> source;
    bool local() const { return !source.empty(); }
    bool active() const;  // some step, token shift or source map moves something
    Shift reference_shift() const { return token_shift.empty() ? Shift{} : token_shift.back(); }
};

// Global translation of each frame of `current` against the same frame of `previous` (both
// [F, C, H, W] float): the integer shift within +-range latent pixels that minimises the mean
// absolute difference over the central region (the frame less `range` on each side), refined to a
// fraction of a pixel by fitting a V to the error at its neighbours along each axis. No motion
// unless the best shift lowers the error by more than 10% over none (so that noise on a still
// camera never moves anything). One device->host copy per call.
std::vector<Motion> estimate_global_motion(const torch::Tensor& current, const torch::Tensor& previous,
                                           int64_t range);


// Per-tile block matching (MotionMode::Local) of each frame of `current` against the same frame
// of `previous` (both [F, C, H, W] float, H and W even): for every tile of tile x tile tokens, the
// whole-token displacement within +-range tokens that minimises the mean absolute difference over
// the tile (the previous frame border-replicated), kept only where it lowers the tile's error by
// more than 10% over none. Returns per frame the token grid's source map (exposed locations -1).
// One device->host copy per call.
std::vector<SourceMap> estimate_local_motion(const torch::Tensor& current, const torch::Tensor& previous,
                                             int64_t range, int64_t tile);

SourceMap identity_map(int64_t gh, int64_t gw);
bool is_identity(const SourceMap& map);
// The map of a frame to an earlier grid, given the map of its predecessor to that grid and its own
// step to its predecessor: out[p] = earlier[step[p]] (-1 where either is -1).
SourceMap compose(const SourceMap& earlier, const SourceMap& step);
// Per frame, its map to the grid the first frame's step points into (the previous block's last
// frame): steps[0], then each composed with the next step.
std::vector<SourceMap> accumulate_maps(const std::vector<SourceMap>& steps);
// Per-token displacement of a map, (dy, dx) = p - source(p) in tokens; zero where exposed.
std::vector<Shift> map_displacements(const SourceMap& map, int64_t gw);
// Gathers along a map; an exposed location keeps its own value (it is recomputed anyway).
// maps: [..., Ht, Wt]; tokens: [Ht, Wt, N]; latents: [..., H, W] with `ph` x `pw` latent pixels
// per token (every pixel of a token comes from the same place in the source token).
torch::Tensor gather_maps(const torch::Tensor& maps, const SourceMap& map);
torch::Tensor gather_tokens(const torch::Tensor& tokens, const SourceMap& map);
torch::Tensor gather_latents(const torch::Tensor& x, const SourceMap& map, int64_t gw, int64_t ph, int64_t pw);
// The int64 index the gathers use: each location's source, an exposed one reading itself.
torch::Tensor gather_index(const SourceMap& map, const torch::Device& device);
// bool [Ht, Wt]: where the map has no source.
torch::Tensor exposed_locations(const SourceMap& map, int64_t gh, int64_t gw, const torch::Device& device);

// x [..., H, W] shifted by d with the border replicated: out[p] = x[clamp(p - d)].
torch::Tensor shift_frames(const torch::Tensor& x, Shift d);
// Exposed latent positions pooled to 1x2x2 tokens: bool [H/2, W/2], true where any latent pixel of
// the token is exposed.
torch::Tensor exposed_tokens(int64_t latent_h, int64_t latent_w, Shift d, const torch::Device& device);

// Tokens of one frame [Ht, Wt, C*4] (lipar/filters.h patchify_tokens layout) shifted by d latent
// pixels (border replicated): back to latents, shifted, cut into tokens again.
torch::Tensor shift_tokens(const torch::Tensor& tokens, Shift d);

// Host map of a whole-grid shift by d on a gh x gw grid: for each destination location, the
// source location p - d, or -1 where it falls outside.
std::vector<int64_t> shifted_source_locations(int64_t gh, int64_t gw, Shift d);

// Whole tokens of a displacement in latent pixels, rounded to the nearest.
int64_t latent_to_tokens(double latent_pixels);

}  // namespace lipar::accel
