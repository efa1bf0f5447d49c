#pragma once
// A restricted Python unpickler (protocols 0-5 minus the text-only opcodes torch never emits):
// it builds plain values and never imports or runs anything. Callables named by GLOBAL are handed
// to a hook, which returns a value for the ones it knows (torch's tensor rebuild functions,
// collections.OrderedDict); everything else becomes an opaque Object. Malformed input is an
// Error(FormatError) naming `where` and the byte offset. Reentrant.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lipar::io::pickle {

enum class Kind {
    None = 0,
    Bool,
    Int,
    Float,
    String,
    Bytes,
    Tuple,
    List,
    Set,
    Dict,
    Global,
    Object,
    Storage,
    Tensor
};
const char* kind_name(Kind kind);

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
    Kind kind = Kind::None;
    bool boolean = false;
    int64_t integer = 0;
    double real = 0.0;
    // String and Bytes: the content; Global: "module.name"; Object: the callable that made it;
    // Storage: the archive key of its data.
    std::string text;
    std::vector<ValuePtr> items;                          // Tuple, List, Set
    std::vector<std::pair<ValuePtr, ValuePtr>> entries;   // Dict, in insertion order
    std::unordered_map<std::string, size_t> string_keys;  // Dict: string key -> entries index
    torch::Dtype dtype = torch::kUInt8;                   // Storage
    torch::Tensor tensor;                                 // Tensor

    Value() = default;
    Value(const Value&) = delete;
    Value& operator=(const Value&) = delete;
    // Iterative: a hostile pickle can nest containers millions deep.
    ~Value();

    static ValuePtr make(Kind kind);
    // Dict insertion with Python semantics: a repeated string key replaces the earlier value.
    void set_item(ValuePtr key, ValuePtr value);
    // Dict lookup by string key; nullptr when absent.
    ValuePtr get(const std::string& key) const;
};

struct Hooks {
    // BINPERSID/PERSID: the persistent id (torch: a tuple ('storage', type, key, location, numel)).
    std::function<ValuePtr(const ValuePtr& pid)> persistent_load;
    // REDUCE/NEWOBJ of a GLOBAL: return the result, or nullptr to get an opaque Object.
    std::function<ValuePtr(const std::string& global, const ValuePtr& args)> call;
};

// Runs the pickle program in `data` and returns the value STOP leaves on the stack.
ValuePtr load(std::string_view data, const Hooks& hooks, const std::string& where);

}  // namespace lipar::io::pickle
