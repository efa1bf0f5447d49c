#include "io/pickle.h"

namespace lipar::io::pickle {

const char* kind_name(Kind kind) {
    switch (kind) {
        case Kind::None:
            return "None";
        case Kind::Bool:
            return "bool";
        case Kind::Int:
            return "int";
        case Kind::Float:
            return "float";
        case Kind::String:
            return "str";
        case Kind::Bytes:
            return "bytes";
        case Kind::Tuple:
            return "tuple";
        case Kind::List:
            return "list";
        case Kind::Set:
            return "set";
        case Kind::Dict:
            return "dict";
        case Kind::Global:
            return "global";
        case Kind::Object:
            return "object";
        case Kind::Storage:
            return "storage";
        case Kind::Tensor:
            return "tensor";
    }
    return "?";
}

Value::~Value() {
    std::vector<ValuePtr> pending;
    // Children this value alone owns are detached and released one at a time, so destroying a
    // deep chain never recurses; shared children just lose a reference.
    auto detach_children = [&pending](Value& v) {
        for (auto& item : v.items) {
            if (item && item.use_count() == 1)
                pending.push_back(std::move(item));
        }
        for (auto& [key, value] : v.entries) {
            if (key && key.use_count() == 1)
                pending.push_back(std::move(key));
            if (value && value.use_count() == 1)
                pending.push_back(std::move(value));
        }
    };
    detach_children(*this);
    while (!pending.empty()) {
        ValuePtr v = std::move(pending.back());
        pending.pop_back();
        detach_children(*v);
    }
}

ValuePtr Value::make(Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
}

void Value::set_item(ValuePtr key, ValuePtr value) {
    if (key && key->kind == Kind::String) {
        const auto it = string_keys.find(key->text);
        if (it != string_keys.end()) {
            entries[it->second].second = std::move(value);
            return;
        }
        string_keys.emplace(key->text, entries.size());
    }
    entries.emplace_back(std::move(key), std::move(value));
}

ValuePtr Value::get(const std::string& key) const {
    const auto it = string_keys.find(key);
    return it == string_keys.end() ? nullptr : entries[it->second].second;
}

}  // namespace lipar::io::pickle
