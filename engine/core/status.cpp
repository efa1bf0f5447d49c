#include <torch/torch.h>

#include <new>

#include "core/error.h"

namespace lipar {

const char* status_code_name(StatusCode code) {
    switch (code) {
        case StatusCode::Ok: return "Ok";
        case StatusCode::InvalidArgument: return "InvalidArgument";
        case StatusCode::NotFound: return "NotFound";
        case StatusCode::IoError: return "IoError";
        case StatusCode::FormatError: return "FormatError";
        case StatusCode::ShapeMismatch: return "ShapeMismatch";
        case StatusCode::Unsupported: return "Unsupported";
        case StatusCode::OutOfMemory: return "OutOfMemory";
        case StatusCode::DeviceError: return "DeviceError";
        case StatusCode::Cancelled: return "Cancelled";
        case StatusCode::Internal: return "Internal";
    }
    return "Unknown";
}

std::string Status::to_string() const {
    if (ok()) return "Ok";
    return std::string(status_code_name(code)) + ": " + message;
}

Status status_from_current_exception() {
    try {
        throw;
    } catch (const Error& e) {
        return e.status();
    } catch (const std::bad_alloc&) {
        return {StatusCode::OutOfMemory, "out of host memory"};
    } catch (const c10::Error& e) {
        std::string msg = e.what_without_backtrace();
        if (msg.find("out of memory") != std::string::npos) {
            return {StatusCode::OutOfMemory, msg};
        }
        return {StatusCode::Internal, msg};
    } catch (const std::exception& e) {
        return {StatusCode::Internal, e.what()};
    } catch (...) {
        return {StatusCode::Internal, "unknown error"};
    }
}

}  // namespace lipar
