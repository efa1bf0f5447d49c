#pragma once
// PyTorch checkpoints as written by torch.save (>= 1.6, the zip format) read without Python or
// LibTorch's own loader: the zip container (stored entries, zip64), the `<archive>/data.pkl`
// pickle and the `<archive>/data/<key>` storages.
//
// The pickle may hold a dict (or OrderedDict) of tensors, nested dicts of tensors, or one tensor.
// Nested dicts are flattened with '.': {'generator_ema': {'model.x': t}} ->
// "generator_ema.model.x". Non-tensor leaves (ints, strings, optimizer lists...) are skipped with a
// debug log. A checkpoint that is a single tensor yields one entry named kSingleTensorName.
//
// Tensors come back on the CPU, contiguous, with their stored dtype (f64 f32 f16 bf16 i64 i32 i16
// i8 u8 bool). Errors: NotFound (no file), FormatError (damaged zip or pickle, inconsistent
// storage), Unsupported (compressed entries, big-endian data, other dtypes). Reentrant.

#include <string>

#include "io/tensor_map.h"

namespace lipar::io {

constexpr const char* kSingleTensorName = "tensor";

TensorMap read_torch_checkpoint(const std::string& path);

}  // namespace lipar::io
