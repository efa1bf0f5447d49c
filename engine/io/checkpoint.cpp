#include "io/checkpoint.h"

#include "core/error.h"
#include "core/log.h"
#include "io/binary_file.h"
#include "io/safetensors.h"
#include "io/torch_checkpoint.h"

namespace lipar::io {

CheckpointFormat detect_checkpoint_format(const std::string& path) {
    BinaryFile file(path);
    const uint64_t n = std::min<uint64_t>(file.size(), 16);
    const std::string head = file.read_string(0, n, "file signature");
    if (head.compare(0, 4, "PK\x03\x04") == 0 || head.compare(0, 4, "PK\x05\x06") == 0) {
        return CheckpointFormat::TorchZip;
    }
    if (head.size() >= 9 && head[8] == '{')
        return CheckpointFormat::Safetensors;
    if (!head.empty() && static_cast<unsigned char>(head[0]) == 0x80) {
        fail(StatusCode::FormatError, path,
             ": a legacy (pre-1.6) torch.save pickle, which is not supported; re-save it with "
             "a current PyTorch (torch.save(torch.load(p), p)) or convert it to safetensors");
    }
    fail(StatusCode::FormatError, path,
         ": unknown checkpoint format (expected a torch.save zip archive or a safetensors file)");
}

TensorMap load_checkpoint(const std::string& path) {
    TensorMap m;
    switch (detect_checkpoint_format(path)) {
        case CheckpointFormat::TorchZip:
            m = read_torch_checkpoint(path);
            break;
        case CheckpointFormat::Safetensors:
            m = read_safetensors(path);
            break;
        case CheckpointFormat::Invalid:
            break;
    }
    LIPAR_LOG_DEBUG("loaded ", m.size(), " tensors from ", path);
    return m;
}

}  // namespace lipar::io
