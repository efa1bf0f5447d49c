#pragma once
// The safetensors container: an 8-byte little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, optional "__metadata__": {str: str}}),
// then the raw little-endian tensor bytes; offsets are relative to the end of the header.
//
// Readers validate the whole header before touching tensor data and throw lipar::Error naming the
// file and the tensor: NotFound (no file), FormatError (malformed header, inconsistent offsets),
// Unsupported (a dtype this build cannot hold), IoError (read failure). Functions are reentrant.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "io/tensor_map.h"

namespace lipar::io {

struct TensorInfo {
    std::string name;
    std::string dtype;  // as written: "F32", "BF16", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // byte range within the data section
};

struct SafetensorsHeader {
    std::vector<TensorInfo> tensors;  // in header order
    std::map<std::string, std::string> metadata;
    uint64_t data_start = 0;  // absolute file offset of the data section (8 + header length)
};

// Limit on the JSON header size; larger values mean a corrupt or foreign file.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull * 1024 * 1024;

SafetensorsHeader read_safetensors_header(const std::string& path);

// CPU tensors with the stored dtype, each read straight into its own storage.
TensorMap read_safetensors(const std::string& path);
// Only the tensors whose name `keep` accepts are read.
TensorMap read_safetensors(const std::string& path,
                           const std::function<bool(const std::string&)>& keep);

// Tensors may live on any device and be non-contiguous; they are written in name order, with the
// header padded by spaces to a multiple of 8 bytes. Writes a temporary file and renames it, so
// `path` is either untouched or complete. Error(InvalidArgument) for an undefined tensor or the
// reserved name "__metadata__", Error(Unsupported) for a dtype safetensors cannot hold.
void write_safetensors(const std::string& path,
                       const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// "F32" <-> torch::kFloat32 and so on (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL).
// safetensors_dtype throws Error(Unsupported) for known dtypes LibTorch lacks (U16, F8_E4M3, ...)
// and Error(FormatError) for unknown names.
torch::Dtype safetensors_dtype(const std::string& name);
std::string safetensors_dtype_name(torch::Dtype dtype);

}  // namespace lipar::io
