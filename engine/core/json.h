#pragma once
// A small, strict JSON value (RFC 8259) for file headers and settings. Objects keep insertion
// order; integer literals that fit int64 stay exact (safetensors offsets need every bit).
// Errors are lipar::Error(FormatError) naming the byte offset and what was expected.
// A Json is a plain value: copies are deep; no internal synchronization.

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace lipar {

class Json {
  public:
    enum class Type { Null = 0, Bool, Number, String, Array, Object };
    using ArrayItems = std::vector<Json>;
    using ObjectItems = std::vector<std::pair<std::string, Json>>;

    Json() = default;
    Json(std::nullptr_t) {}
    Json(bool value) : m_type(Type::Bool), m_bool(value) {}
    Json(double value) : m_type(Type::Number), m_double(value) {}
    Json(float value) : Json(static_cast<double>(value)) {}
    template <typename T,
              std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    Json(T value) : m_type(Type::Number) {
        if constexpr (std::is_unsigned_v<T>) {
            if (static_cast<uint64_t>(value) > static_cast<uint64_t>(INT64_MAX)) {
                m_double = static_cast<double>(value);
                return;
            }
        }
        m_is_integer = true;
        m_int = static_cast<int64_t>(value);
        m_double = static_cast<double>(value);
    }
    Json(std::string value) : m_type(Type::String), m_string(std::move(value)) {}
    Json(std::string_view value) : m_type(Type::String), m_string(value) {}
    Json(const char* value) : m_type(Type::String), m_string(value) {}

    static Json object();
    static Json array();

    // Parses a complete document; only whitespace may follow the value. Nesting deeper than
    // kMaxDepth, duplicate object keys, invalid UTF-8 and lone surrogates are errors.
    static Json parse(std::string_view text);
    static constexpr int kMaxDepth = 256;

    // Compact when indent < 0, else pretty-printed with `indent` spaces per level.
    // Throws Error(InvalidArgument) for NaN or infinite numbers (JSON cannot hold them).
    std::string dump(int indent = -1) const;

    Type type() const { return m_type; }
    static const char* type_name(Type type);
    bool is_null() const { return m_type == Type::Null; }
    bool is_bool() const { return m_type == Type::Bool; }
    bool is_number() const { return m_type == Type::Number; }
    bool is_integer() const { return m_type == Type::Number && m_is_integer; }
    bool is_string() const { return m_type == Type::String; }
    bool is_array() const { return m_type == Type::Array; }
    bool is_object() const { return m_type == Type::Object; }

    // Checked accessors: Error(FormatError) naming the expected and the actual type.
    bool as_bool() const;
    int64_t as_int64() const;  // an integer literal within int64 range
    double as_double() const;  // any number
    const std::string& as_string() const;

    // Object access. find() returns nullptr when absent (or when this is not an object).
    const Json* find(std::string_view key) const;
    Json* find(std::string_view key);
    const Json& at(std::string_view key) const;  // Error(FormatError) naming the key
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    // Array access, bounds-checked.
    const Json& at(size_t index) const;
    const Json& operator[](size_t index) const { return at(index); }

    // Number of elements (array) or members (object); 0 otherwise.
    size_t size() const;
    bool empty() const { return size() == 0; }
    const ArrayItems& elements() const;  // Error(FormatError) unless an array
    const ObjectItems& items() const;    // Error(FormatError) unless an object

    // Builders. set() replaces an existing key in place; on null, set/push_back first turn the
    // value into an object/array. Both return *this for chaining.
    Json& set(std::string key, Json value);
    Json& push_back(Json value);

    bool operator==(const Json& other) const;
    bool operator!=(const Json& other) const { return !(*this == other); }

  private:
    void expect(Type type) const;

    Type m_type = Type::Null;
    bool m_bool = false;
    bool m_is_integer = false;
    int64_t m_int = 0;
    double m_double = 0.0;
    std::string m_string;
    ArrayItems m_array;
    ObjectItems m_object;

    friend class JsonParser;
};

}  // namespace lipar
