#pragma once
// One entry point for weights files: picks the reader by content, not by extension.
//   zip ("PK\x03\x04")                      -> read_torch_checkpoint (torch.save)
//   8-byte length followed by '{'           -> read_safetensors
// A missing file is Error(NotFound); any other content (including the pre-1.6 torch.save pickle
// format) is Error(FormatError) naming the file. Reentrant.

#include <string>

#include "io/tensor_map.h"

namespace lipar::io {

enum class CheckpointFormat { Invalid = 0, TorchZip, Safetensors };

// Error(NotFound) for a missing file, Error(FormatError) when it is neither format.
CheckpointFormat detect_checkpoint_format(const std::string& path);

TensorMap load_checkpoint(const std::string& path);

}  // namespace lipar::io
