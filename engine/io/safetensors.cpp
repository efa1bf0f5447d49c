#include "io/safetensors.h"

#include <algorithm>
#include <cstring>

#include "core/device.h"
#include "core/error.h"
#include "core/json.h"
#include "io/binary_file.h"

namespace lipar::io {

namespace {

struct DtypeEntry {
    const char* name;
    torch::Dtype dtype;
};

const DtypeEntry kDtypes[] = {
    {"F64", torch::kFloat64},   {"F32", torch::kFloat32}, {"F16", torch::kFloat16},
    {"BF16", torch::kBFloat16}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
    {"I16", torch::kInt16},     {"I8", torch::kInt8},     {"U8", torch::kUInt8},
    {"BOOL", torch::kBool},
};

// Valid in the format, but LibTorch 1.13 has no matching dtype.
const char* const kUnsupportedDtypes[] = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "C64"};

void require_little_endian_host() {
    const uint16_t probe = 1;
    unsigned char first = 0;
    std::memcpy(&first, &probe, 1);
    LIPAR_CHECK(first == 1, StatusCode::Unsupported, "safetensors I/O needs a little-endian host");
}

std::string offsets_string(uint64_t begin, uint64_t end) {
    return str_cat("[", begin, ", ", end, "]");
}

std::string shape_of(const std::vector<int64_t>& shape) {
    return shape_string(shape);
}

// Validates one header entry. `where` prefixes messages: "<path>: tensor 'name'".
TensorInfo parse_entry(const std::string& where,
                       const std::string& name,
                       const Json& entry,
                       uint64_t data_size) {
    if (!entry.is_object()) {
        fail(StatusCode::FormatError, where, ": header entry is a JSON ",
             Json::type_name(entry.type()),
             ", expected an object with dtype, shape and data_offsets");
    }
    TensorInfo info;
    info.name = name;
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        LIPAR_CHECK(entry.find(key), StatusCode::FormatError, where, ": header entry has no \"",
                    key, "\"");
    }
    const Json& dtype = entry.at("dtype");
    LIPAR_CHECK(dtype.is_string(), StatusCode::FormatError, where,
                ": \"dtype\" must be a string, got ", Json::type_name(dtype.type()));
    info.dtype = dtype.as_string();
    torch::Dtype torch_dtype;
    try {
        torch_dtype = safetensors_dtype(info.dtype);
    } catch (const Error& e) {
        fail(e.code(), where, ": ", e.what());
    }

    const Json& shape = entry.at("shape");
    LIPAR_CHECK(shape.is_array(), StatusCode::FormatError, where,
                ": \"shape\" must be an array of integers, got ", Json::type_name(shape.type()));
    uint64_t numel = 1;
    bool overflow = false;
    for (const Json& d : shape.elements()) {
        LIPAR_CHECK(d.is_integer(), StatusCode::FormatError, where,
                    ": \"shape\" must be an array of integers, got ", shape.dump());
        const int64_t v = d.as_int64();
        LIPAR_CHECK(v >= 0, StatusCode::FormatError, where, ": shape ", shape.dump(),
                    " has a negative dimension");
        info.shape.push_back(v);
        if (v != 0 && numel > UINT64_MAX / static_cast<uint64_t>(v))
            overflow = true;
        numel *= static_cast<uint64_t>(v);
    }

    const Json& offsets = entry.at("data_offsets");
    const bool offsets_ok = offsets.is_array() && offsets.size() == 2 && offsets[0].is_integer() &&
                            offsets[1].is_integer() && offsets[0].as_int64() >= 0 &&
                            offsets[1].as_int64() >= offsets[0].as_int64();
    LIPAR_CHECK(
        offsets_ok, StatusCode::FormatError, where,
        ": \"data_offsets\" must be two increasing non-negative integers [begin, end], got ",
        offsets.dump());
    info.begin = static_cast<uint64_t>(offsets[0].as_int64());
    info.end = static_cast<uint64_t>(offsets[1].as_int64());
    LIPAR_CHECK(info.end <= data_size, StatusCode::FormatError, where, ": data_offsets ",
                offsets_string(info.begin, info.end), " run past the end of the data section (",
                data_size, " bytes; truncated file?)");

    const uint64_t itemsize = static_cast<uint64_t>(c10::elementSize(torch_dtype));
    if (!overflow && numel > UINT64_MAX / itemsize)
        overflow = true;
    const uint64_t stored = info.end - info.begin;
    if (overflow || numel * itemsize != stored) {
        fail(StatusCode::FormatError, where, ": dtype ", info.dtype, " and shape ",
             shape_of(info.shape), " need ",
             overflow ? std::string("more than 2^64") : std::to_string(numel * itemsize),
             " bytes but data_offsets ", offsets_string(info.begin, info.end), " hold ", stored);
    }
    return info;
}

void check_no_overlap(const std::string& path, const std::vector<TensorInfo>& tensors) {
    std::vector<const TensorInfo*> sorted;
    for (const auto& t : tensors) {
        if (t.end > t.begin)
            sorted.push_back(&t);
    }
    std::sort(sorted.begin(), sorted.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < sorted.size(); ++i) {
        const TensorInfo& a = *sorted[i - 1];
        const TensorInfo& b = *sorted[i];
        if (b.begin < a.end) {
            fail(StatusCode::FormatError, path, ": tensors '", a.name, "' ",
                 offsets_string(a.begin, a.end), " and '", b.name, "' ",
                 offsets_string(b.begin, b.end), " overlap in the data section");
        }
    }
}

SafetensorsHeader parse_header(BinaryFile& file) {
    const std::string& path = file.path();
    if (file.size() < 8) {
        fail(StatusCode::FormatError, path, ": not a safetensors file: it has ", file.size(),
             " bytes, fewer than the 8-byte header length");
    }
    unsigned char len_bytes[8];
    file.read_at(0, len_bytes, 8, "header length");
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i)
        header_len = (header_len << 8) | len_bytes[i];
    if (header_len > kMaxSafetensorsHeaderBytes) {
        fail(StatusCode::FormatError, path, ": safetensors header length ", header_len,
             " exceeds the ", kMaxSafetensorsHeaderBytes,
             "-byte limit (corrupt file, or not a safetensors file)");
    }
    if (header_len > file.size() - 8) {
        fail(StatusCode::FormatError, path, ": safetensors header length ", header_len,
             " exceeds the file size ", file.size(), " (truncated file?)");
    }
    const std::string text = file.read_string(8, header_len, "safetensors header");
    Json root;
    try {
        root = Json::parse(text);
    } catch (const Error& e) {
        fail(StatusCode::FormatError, path, ": safetensors header is not valid JSON (", e.what(),
             ")");
    }
    if (!root.is_object()) {
        fail(StatusCode::FormatError, path, ": safetensors header is a JSON ",
             Json::type_name(root.type()), ", expected an object");
    }

    SafetensorsHeader header;
    header.data_start = 8 + header_len;
    const uint64_t data_size = file.size() - header.data_start;
    for (const auto& [name, entry] : root.items()) {
        if (name == "__metadata__") {
            LIPAR_CHECK(entry.is_object(), StatusCode::FormatError, path,
                        ": __metadata__ must be an object mapping strings to strings, got ",
                        Json::type_name(entry.type()));
            for (const auto& [key, value] : entry.items()) {
                LIPAR_CHECK(value.is_string(), StatusCode::FormatError, path,
                            ": __metadata__ must map strings to strings, but \"", key,
                            "\" holds a ", Json::type_name(value.type()));
                header.metadata[key] = value.as_string();
            }
            continue;
        }
        header.tensors.push_back(
            parse_entry(str_cat(path, ": tensor '", name, "'"), name, entry, data_size));
    }
    check_no_overlap(path, header.tensors);
    return header;
}

torch::Tensor read_tensor(BinaryFile& file,
                          const SafetensorsHeader& header,
                          const TensorInfo& info) {
    torch::Tensor t =
        torch::empty(info.shape, torch::TensorOptions().dtype(safetensors_dtype(info.dtype)));
    file.read_at(header.data_start + info.begin, t.data_ptr(), info.end - info.begin,
                 str_cat("tensor '", info.name, "'"));
    if (t.scalar_type() == torch::kBool && t.numel() > 0) {
        // Bytes other than 0/1 are not valid bools for LibTorch.
        const bool valid = t.view(torch::kUInt8).le(1).all().item<bool>();
        LIPAR_CHECK(valid, StatusCode::FormatError, file.path(), ": tensor '", info.name,
                    "': BOOL data holds bytes other than 0 and 1");
    }
    return t;
}

}  // namespace

torch::Dtype safetensors_dtype(const std::string& name) {
    for (const auto& d : kDtypes) {
        if (name == d.name)
            return d.dtype;
    }
    for (const char* u : kUnsupportedDtypes) {
        if (name == u)
            fail(StatusCode::Unsupported, "dtype ", name, " is not supported by LibTorch here");
    }
    fail(StatusCode::FormatError, "unknown dtype '", name,
         "' (expected F64, F32, F16, BF16, I64, I32, I16, I8, U8 or BOOL)");
}

std::string safetensors_dtype_name(torch::Dtype dtype) {
    for (const auto& d : kDtypes) {
        if (dtype == d.dtype)
            return d.name;
    }
    fail(StatusCode::Unsupported, "dtype ", c10::toString(dtype),
         " cannot be stored in safetensors");
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
    BinaryFile file(path);
    return parse_header(file);
}

TensorMap read_safetensors(const std::string& path) {
    return read_safetensors(path, [](const std::string&) { return true; });
}

TensorMap read_safetensors(const std::string& path,
                           const std::function<bool(const std::string&)>& keep) {
    require_little_endian_host();
    BinaryFile file(path);
    const SafetensorsHeader header = parse_header(file);
    std::vector<const TensorInfo*> order;
    for (const auto& t : header.tensors) {
        if (keep(t.name))
            order.push_back(&t);
    }
    // File order keeps the reads sequential.
    std::sort(order.begin(), order.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
    TensorMap out;
    for (const TensorInfo* info : order)
        out[info->name] = read_tensor(file, header, *info);
    return out;
}

void write_safetensors(const std::string& path,
                       const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
    require_little_endian_host();
    Json header = Json::object();
    if (!metadata.empty()) {
        Json meta = Json::object();
        for (const auto& [k, v] : metadata)
            meta.set(k, v);
        header.set("__metadata__", std::move(meta));
    }
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        LIPAR_CHECK(name != "__metadata__", StatusCode::InvalidArgument, path,
                    ": \"__metadata__\" is reserved and cannot name a tensor");
        LIPAR_CHECK(t.defined(), StatusCode::InvalidArgument, path, ": tensor '", name,
                    "' is undefined");
        std::string dtype;
        try {
            dtype = safetensors_dtype_name(t.scalar_type());
        } catch (const Error& e) {
            fail(e.code(), path, ": tensor '", name, "': ", e.what());
        }
        const uint64_t nbytes = static_cast<uint64_t>(t.numel()) * t.element_size();
        Json shape = Json::array();
        for (int64_t d : t.sizes())
            shape.push_back(d);
        Json offsets = Json::array();
        offsets.push_back(offset).push_back(offset + nbytes);
        Json entry = Json::object();
        entry.set("dtype", dtype)
            .set("shape", std::move(shape))
            .set("data_offsets", std::move(offsets));
        header.set(name, std::move(entry));
        offset += nbytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    unsigned char len_bytes[8];
    uint64_t len = text.size();
    for (int i = 0; i < 8; ++i)
        len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));

    AtomicFileWriter out(path);
    out.write(len_bytes, 8);
    out.write(text.data(), text.size());
    for (const auto& [name, t] : tensors) {
        const torch::Tensor cpu = t.detach().to(torch::kCPU).contiguous();
        out.write(cpu.data_ptr(), static_cast<uint64_t>(cpu.numel()) * cpu.element_size());
    }
    out.commit();
}

}  // namespace lipar::io
