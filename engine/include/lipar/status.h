#pragma once
// Status values carry every error across the public API; no exception crosses it.

#include <string>
#include <utility>

namespace lipar {

enum class StatusCode {
    Ok = 0,
    InvalidArgument,  // a bad option value or a malformed request
    NotFound,         // a missing file, device or tensor
    IoError,          // read/write failure
    FormatError,      // a file exists but its content is not what it claims to be
    ShapeMismatch,    // a tensor does not have the shape the model needs
    Unsupported,      // a codec, dtype or feature this build cannot handle
    OutOfMemory,
    DeviceError,      // CUDA or capture-device failure
    Cancelled,
    Internal,
};

const char* status_code_name(StatusCode code);

struct Status {
    StatusCode code = StatusCode::Ok;
    std::string message;

    Status() = default;
    Status(StatusCode c, std::string m) : code(c), message(std::move(m)) {}

    static Status ok_status() { return {}; }
    bool ok() const { return code == StatusCode::Ok; }
    explicit operator bool() const { return ok(); }
    // "FormatError: header length 12 exceeds file size 8"
    std::string to_string() const;
};

}  // namespace lipar
