#include "io/torch_checkpoint.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/log.h"
#include "io/binary_file.h"
#include "io/pickle.h"
#include "io/zip_archive.h"

namespace lipar::io {

namespace {

using pickle::Kind;
using pickle::Value;
using pickle::ValuePtr;

struct StorageType {
    const char* name;
    torch::Dtype dtype;
};

const StorageType kStorageTypes[] = {
    {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
    {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
    {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
    {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
    {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool},
    {"torch.UntypedStorage", torch::kUInt8},
};

// Deeper nesting than this is not a state dict; such branches are skipped.
constexpr int kMaxNesting = 8;
// Shared sub-dicts can multiply the work of flattening; a real checkpoint is far below this.
constexpr uint64_t kMaxFlattenedEntries = 50'000'000;

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool is_int(const ValuePtr& v) {
    return v && v->kind == Kind::Int;
}

class Reader {
  public:
    explicit Reader(const std::string& path) : m_path(path), m_file(path), m_zip(m_file) {}

    TensorMap read() {
        locate_archive();
        pickle::Hooks hooks;
        hooks.persistent_load = [this](const ValuePtr& pid) { return persistent_load(pid); };
        hooks.call = [this](const std::string& name, const ValuePtr& args) {
            return call(name, args);
        };
        const std::string pkl_name = m_prefix + "data.pkl";
        const std::string pkl = m_zip.read_string(*m_zip.find(pkl_name));
        const ValuePtr root = pickle::load(pkl, hooks, m_path + ": " + pkl_name);

        TensorMap out;
        if (root->kind == Kind::Tensor) {
            out[kSingleTensorName] = root->tensor;
        } else if (root->kind == Kind::Dict) {
            flatten(*root, "", 0, out);
        } else {
            fail(StatusCode::FormatError, m_path, ": the checkpoint holds a ",
                 pickle::kind_name(root->kind),
                 root->kind == Kind::Object ? " (" + root->text + ")" : std::string(),
                 ", not a dict of tensors (save a state_dict() instead of a whole module)");
        }
        return out;
    }

  private:
    void locate_archive() {
        const ZipEntry* best = nullptr;
        for (const auto& e : m_zip.entries()) {
            const std::string& n = e.name;
            if (n != "data.pkl" &&
                !(n.size() > 9 && n.compare(n.size() - 9, 9, "/data.pkl") == 0)) {
                continue;
            }
            if (!best || n.size() < best->name.size())
                best = &e;
        }
        LIPAR_CHECK(best, StatusCode::FormatError, m_path,
                    ": zip archive has no data.pkl entry; it is not a torch.save checkpoint");
        m_prefix = best->name.substr(0, best->name.size() - 8);
        if (const ZipEntry* order = m_zip.find(m_prefix + "byteorder")) {
            const std::string value = m_zip.read_string(*order);
            LIPAR_CHECK(value == "little", StatusCode::Unsupported, m_path,
                        ": checkpoint data is stored in '", value,
                        "' byte order; only little-endian checkpoints are supported");
        }
    }

    [[noreturn]] void bad_pid(const std::string& why) const {
        fail(StatusCode::FormatError, m_path, ": unexpected persistent id in data.pkl: ", why);
    }

    // ('storage', torch.HalfStorage, key, location, numel) -> a Storage value.
    ValuePtr persistent_load(const ValuePtr& pid) {
        if (pid->kind != Kind::Tuple || pid->items.size() < 5)
            bad_pid("expected a 5-tuple");
        const auto& it = pid->items;
        if (it[0]->kind != Kind::String || it[0]->text != "storage")
            bad_pid("not a 'storage' id");
        if (it[1]->kind != Kind::Global)
            bad_pid("storage type is not a class");
        if (!is_int(it[4]) || it[4]->integer < 0)
            bad_pid("storage size is not a count");
        auto storage = Value::make(Kind::Storage);
        if (it[2]->kind == Kind::String) {
            storage->text = it[2]->text;
        } else if (is_int(it[2])) {
            storage->text = std::to_string(it[2]->integer);
        } else {
            bad_pid("storage key is neither a string nor an int");
        }
        storage->integer = it[4]->integer;
        bool known = false;
        for (const auto& t : kStorageTypes) {
            if (it[1]->text == t.name) {
                storage->dtype = t.dtype;
                known = true;
            }
        }
        LIPAR_CHECK(known, StatusCode::Unsupported, m_path, ": storage type ", it[1]->text,
                    " is not supported (storage '", storage->text, "')");
        return storage;
    }

    ValuePtr call(const std::string& name, const ValuePtr& args) {
        if (name == "collections.OrderedDict" || name == "builtins.dict") {
            return Value::make(Kind::Dict);
        }
        if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
            return rebuild_tensor(name, args);
        }
        if (name == "torch._utils._rebuild_parameter" ||
            name == "torch._utils._rebuild_parameter_with_state") {
            if (args->kind == Kind::Tuple && !args->items.empty() &&
                args->items[0]->kind == Kind::Tensor) {
                return args->items[0];
            }
            fail(StatusCode::FormatError, m_path, ": ", name, " without a tensor argument");
        }
        if (name == "torch._tensor._rebuild_from_type_v2") {
            // (func, type, args, state): a tensor subclass; rebuild the plain tensor.
            if (args->kind == Kind::Tuple && args->items.size() >= 3 &&
                args->items[0]->kind == Kind::Global) {
                return call(args->items[0]->text, args->items[2]);
            }
            fail(StatusCode::FormatError, m_path, ": malformed ", name, " arguments");
        }
        if (starts_with(name, "torch._utils._rebuild") ||
            starts_with(name, "torch._tensor._rebuild")) {
            fail(StatusCode::Unsupported, m_path, ": tensors rebuilt by ", name,
                 " (quantized, sparse or other special tensors) are not supported");
        }
        return nullptr;  // anything else stays an opaque object
    }

    torch::Tensor storage_tensor(const Value& storage) {
        if (auto it = m_storages.find(storage.text); it != m_storages.end())
            return it->second;
        const std::string entry_name = m_prefix + "data/" + storage.text;
        const ZipEntry* entry = m_zip.find(entry_name);
        LIPAR_CHECK(entry, StatusCode::FormatError, m_path, ": storage '", storage.text,
                    "' has no zip entry ", entry_name);
        const uint64_t numel = static_cast<uint64_t>(storage.integer);
        const uint64_t itemsize = c10::elementSize(storage.dtype);
        LIPAR_CHECK(numel <= entry->size / itemsize, StatusCode::FormatError, m_path, ": storage '",
                    storage.text, "' should hold ", numel, " ", c10::toString(storage.dtype),
                    " elements but its entry has only ", entry->size, " bytes");
        torch::Tensor t = torch::empty({static_cast<int64_t>(numel)},
                                       torch::TensorOptions().dtype(storage.dtype));
        if (numel > 0)
            m_zip.read(*entry, t.data_ptr(), numel * itemsize);
        if (storage.dtype == torch::kBool && numel > 0) {
            LIPAR_CHECK(t.view(torch::kUInt8).le(1).all().item<bool>(), StatusCode::FormatError,
                        m_path, ": bool storage '", storage.text,
                        "' holds bytes other than 0 and 1");
        }
        m_storages[storage.text] = t;
        return t;
    }

    std::vector<int64_t> int_tuple(const ValuePtr& v, const char* what, const std::string& fn) {
        LIPAR_CHECK(v->kind == Kind::Tuple, StatusCode::FormatError, m_path, ": ", fn, " ", what,
                    " is a ", pickle::kind_name(v->kind), ", expected a tuple");
        std::vector<int64_t> out;
        for (const auto& x : v->items) {
            LIPAR_CHECK(is_int(x) && x->integer >= 0, StatusCode::FormatError, m_path, ": ", fn,
                        " ", what, " holds a negative or non-integer value");
            out.push_back(x->integer);
        }
        return out;
    }

    // (storage, storage_offset, size, stride, ...) -> a contiguous tensor.
    ValuePtr rebuild_tensor(const std::string& fn, const ValuePtr& args) {
        LIPAR_CHECK(args->kind == Kind::Tuple && args->items.size() >= 4 &&
                        args->items[0]->kind == Kind::Storage && is_int(args->items[1]),
                    StatusCode::FormatError, m_path, ": ", fn,
                    " needs (storage, offset, size, stride, ...) arguments");
        const Value& storage = *args->items[0];
        const int64_t offset = args->items[1]->integer;
        const std::vector<int64_t> size = int_tuple(args->items[2], "size", fn);
        const std::vector<int64_t> stride = int_tuple(args->items[3], "stride", fn);
        LIPAR_CHECK(offset >= 0 && size.size() == stride.size(), StatusCode::FormatError, m_path,
                    ": ", fn, " for storage '", storage.text, "' has offset ", offset, ", ",
                    size.size(), " sizes and ", stride.size(), " strides");
        torch::Tensor st = storage_tensor(storage);

        // Extent and element count in 128 bits, saturated, so hostile sizes cannot overflow.
        constexpr unsigned __int128 kCap = static_cast<unsigned __int128>(1) << 64;
        bool empty = false;
        unsigned __int128 numel = 1;
        unsigned __int128 last = static_cast<uint64_t>(offset);
        for (size_t i = 0; i < size.size(); ++i) {
            if (size[i] == 0)
                empty = true;
            numel = std::min(kCap, numel * static_cast<uint64_t>(size[i]));
            if (size[i] > 0) {
                const auto reach =
                    static_cast<unsigned __int128>(size[i] - 1) * static_cast<uint64_t>(stride[i]);
                last = std::min(kCap, last + reach);
            }
        }
        auto v = Value::make(Kind::Tensor);
        if (empty) {
            v->tensor = torch::empty(size, torch::TensorOptions().dtype(storage.dtype));
            return v;
        }
        LIPAR_CHECK(numel < (static_cast<unsigned __int128>(1) << 50), StatusCode::FormatError,
                    m_path, ": a tensor of size ", shape_str(size), " in storage '", storage.text,
                    "' is implausibly large");
        LIPAR_CHECK(last < static_cast<uint64_t>(st.numel()), StatusCode::FormatError, m_path,
                    ": a tensor of size ", shape_str(size), ", stride ", shape_str(stride),
                    " and offset ", offset, " reaches past storage '", storage.text, "' (",
                    st.numel(), " elements)");
        torch::Tensor view = st.as_strided(size, stride, offset);
        if (offset == 0 && view.numel() == st.numel() && view.is_contiguous()) {
            v->tensor = view;  // the whole storage: no copy
        } else {
            v->tensor = view.clone(at::MemoryFormat::Contiguous);
        }
        return v;
    }

    static std::string shape_str(const std::vector<int64_t>& v) {
        std::string s = "[";
        for (size_t i = 0; i < v.size(); ++i)
            s += (i ? ", " : "") + std::to_string(v[i]);
        return s + "]";
    }

    void flatten(const Value& dict, const std::string& prefix, int depth, TensorMap& out) {
        m_open_dicts.push_back(&dict);
        for (const auto& [k, v] : dict.entries) {
            LIPAR_CHECK(++m_flattened < kMaxFlattenedEntries, StatusCode::FormatError, m_path,
                        ": the checkpoint's dicts hold more than ", kMaxFlattenedEntries,
                        " entries");
            std::string key;
            if (k->kind == Kind::String) {
                key = k->text;
            } else if (is_int(k)) {
                key = std::to_string(k->integer);
            } else {
                LIPAR_LOG_DEBUG(m_path, ": skipping an entry under '", prefix, "' with a ",
                                pickle::kind_name(k->kind), " key");
                continue;
            }
            const std::string name = prefix + key;
            if (v->kind == Kind::Tensor) {
                LIPAR_CHECK(out.emplace(name, v->tensor).second, StatusCode::FormatError, m_path,
                            ": two entries flatten to the same name '", name, "'");
            } else if (v->kind == Kind::Dict && depth < kMaxNesting &&
                       std::find(m_open_dicts.begin(), m_open_dicts.end(), v.get()) ==
                           m_open_dicts.end()) {
                flatten(*v, name + ".", depth + 1, out);
            } else {
                LIPAR_LOG_DEBUG(m_path, ": skipping non-tensor entry '", name, "' (",
                                pickle::kind_name(v->kind), ")");
            }
        }
        m_open_dicts.pop_back();
    }

    std::string m_path;
    BinaryFile m_file;
    ZipArchive m_zip;
    std::string m_prefix;  // "archive/"
    std::map<std::string, torch::Tensor> m_storages;
    std::vector<const Value*> m_open_dicts;  // the dicts being flattened, to skip cycles
    uint64_t m_flattened = 0;
};

}  // namespace

TensorMap read_torch_checkpoint(const std::string& path) {
    return Reader(path).read();
}

}  // namespace lipar::io
