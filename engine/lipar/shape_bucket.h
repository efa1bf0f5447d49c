#pragma once
// Shape buckets for the pruned forward: the number of kept tokens of a block is rounded up to a
// multiple of a bucket size by also recomputing the pruned tokens that came closest to being kept,
// so attention kernels, allocations and (later) CUDA graphs see a small fixed set of shapes instead
// of a new one every block. Costs at most bucket - 1 extra tokens per block; never changes a kept
// token into a pruned one.

#include <torch/torch.h>

#include <cstdint>

#include "lipar/detector.h"

namespace lipar::accel {

// How close each token came to being kept: the larger of its short-term distance over tau1 and its
// long-term distance over tau2 (1 = at the threshold). [F, Ht, Wt] float on the result's device.
torch::Tensor keep_score(const DetectionResult& detection, double tau1, double tau2);

// `kept` rounded up to a multiple of `bucket`, at most `total` (bucket <= 1: kept unchanged).
int64_t bucketed_count(int64_t kept, int64_t total, int64_t bucket);

// keep: bool [F, Ht, Wt]; score: same shape. Returns keep with the smallest number of extra tokens
// (highest score first; ties by lower index) that makes the kept count a multiple of `bucket`, or
// every token when the next multiple exceeds the total. bucket <= 1 returns keep unchanged.
torch::Tensor round_kept_to_bucket(const torch::Tensor& keep, const torch::Tensor& score, int64_t bucket);

// The bucket used when none is configured: 128 on CUDA (one attention tile), none on the CPU (where
// shapes cost nothing to change and extra tokens cost their full time).
int64_t default_kept_bucket(const torch::Device& device);

}  // namespace lipar::accel
