#include "core/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace lipar {

// ---- writing ---------------------------------------------------------------------------------

namespace {

void dump_string(std::string& out, const std::string& s) {
    out += '"';
    for (const char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                    out += buf;
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

void newline(std::string& out, int indent, int level) {
    if (indent < 0)
        return;
    out += '\n';
    out.append(static_cast<size_t>(indent) * level, ' ');
}

void dump_value(std::string& out, const Json& v, int indent, int level) {
    switch (v.type()) {
        case Json::Type::Null:
            out += "null";
            return;
        case Json::Type::Bool:
            out += v.as_bool() ? "true" : "false";
            return;
        case Json::Type::Number: {
            char buf[64];
            if (v.is_integer()) {
                auto r = std::to_chars(buf, buf + sizeof(buf), v.as_int64());
                out.append(buf, r.ptr);
                return;
            }
            const double d = v.as_double();
            LIPAR_CHECK(std::isfinite(d), StatusCode::InvalidArgument,
                        "JSON cannot represent the number ", d);
            auto r = std::to_chars(buf, buf + sizeof(buf), d);
            std::string_view text(buf, r.ptr - buf);
            out += text;
            // Keep it a non-integer literal so that it reads back as the same kind of number.
            if (text.find_first_of(".eE") == std::string_view::npos)
                out += ".0";
            return;
        }
        case Json::Type::String:
            dump_string(out, v.as_string());
            return;
        case Json::Type::Array: {
            out += '[';
            const auto& a = v.elements();
            for (size_t i = 0; i < a.size(); ++i) {
                if (i)
                    out += ',';
                newline(out, indent, level + 1);
                dump_value(out, a[i], indent, level + 1);
            }
            if (!a.empty())
                newline(out, indent, level);
            out += ']';
            return;
        }
        case Json::Type::Object: {
            out += '{';
            const auto& o = v.items();
            for (size_t i = 0; i < o.size(); ++i) {
                if (i)
                    out += ',';
                newline(out, indent, level + 1);
                dump_string(out, o[i].first);
                out += indent < 0 ? ":" : ": ";
                dump_value(out, o[i].second, indent, level + 1);
            }
            if (!o.empty())
                newline(out, indent, level);
            out += '}';
            return;
        }
    }
}

}  // namespace

std::string Json::dump(int indent) const {
    std::string out;
    dump_value(out, *this, indent, 0);
    return out;
}

// ---- access ----------------------------------------------------------------------------------

Json Json::object() {
    Json j;
    j.m_type = Type::Object;
    return j;
}

Json Json::array() {
    Json j;
    j.m_type = Type::Array;
    return j;
}

const char* Json::type_name(Type type) {
    switch (type) {
        case Type::Null:
            return "null";
        case Type::Bool:
            return "bool";
        case Type::Number:
            return "number";
        case Type::String:
            return "string";
        case Type::Array:
            return "array";
        case Type::Object:
            return "object";
    }
    return "?";
}

void Json::expect(Type type) const {
    if (m_type != type) {
        fail(StatusCode::FormatError, "JSON: expected ", type_name(type), ", got ",
             type_name(m_type));
    }
}

bool Json::as_bool() const {
    expect(Type::Bool);
    return m_bool;
}

int64_t Json::as_int64() const {
    expect(Type::Number);
    if (!m_is_integer) {
        fail(StatusCode::FormatError, "JSON: expected an integer within int64 range, got ",
             m_double);
    }
    return m_int;
}

double Json::as_double() const {
    expect(Type::Number);
    return m_double;
}

const std::string& Json::as_string() const {
    expect(Type::String);
    return m_string;
}

const Json* Json::find(std::string_view key) const {
    if (m_type != Type::Object)
        return nullptr;
    for (const auto& [k, v] : m_object) {
        if (k == key)
            return &v;
    }
    return nullptr;
}

Json* Json::find(std::string_view key) {
    return const_cast<Json*>(static_cast<const Json*>(this)->find(key));
}

const Json& Json::at(std::string_view key) const {
    expect(Type::Object);
    const Json* v = find(key);
    if (!v)
        fail(StatusCode::FormatError, "JSON: missing key \"", key, "\"");
    return *v;
}

const Json& Json::at(size_t index) const {
    expect(Type::Array);
    if (index >= m_array.size()) {
        fail(StatusCode::FormatError, "JSON: index ", index, " out of range (array of ",
             m_array.size(), ")");
    }
    return m_array[index];
}

size_t Json::size() const {
    if (m_type == Type::Array)
        return m_array.size();
    if (m_type == Type::Object)
        return m_object.size();
    return 0;
}

const Json::ArrayItems& Json::elements() const {
    expect(Type::Array);
    return m_array;
}

const Json::ObjectItems& Json::items() const {
    expect(Type::Object);
    return m_object;
}

Json& Json::set(std::string key, Json value) {
    if (m_type == Type::Null)
        m_type = Type::Object;
    expect(Type::Object);
    if (Json* existing = find(key)) {
        *existing = std::move(value);
    } else {
        m_object.emplace_back(std::move(key), std::move(value));
    }
    return *this;
}

Json& Json::push_back(Json value) {
    if (m_type == Type::Null)
        m_type = Type::Array;
    expect(Type::Array);
    m_array.push_back(std::move(value));
    return *this;
}

bool Json::operator==(const Json& other) const {
    if (m_type != other.m_type)
        return false;
    switch (m_type) {
        case Type::Null:
            return true;
        case Type::Bool:
            return m_bool == other.m_bool;
        case Type::Number:
            if (m_is_integer && other.m_is_integer)
                return m_int == other.m_int;
            return m_double == other.m_double;
        case Type::String:
            return m_string == other.m_string;
        case Type::Array:
            return m_array == other.m_array;
        case Type::Object:
            return m_object == other.m_object;
    }
    return false;
}

}  // namespace lipar
