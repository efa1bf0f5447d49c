#include "core/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "core/error.h"

namespace lipar {

// ---- parsing ---------------------------------------------------------------------------------

class JsonParser {
  public:
    explicit JsonParser(std::string_view text) : m_text(text) {}

    Json parse_document() {
        skip_whitespace();
        Json value = parse_value(0);
        skip_whitespace();
        if (m_pos != m_text.size())
            error("end of input after the value");
        return value;
    }

  private:
    [[noreturn]] void error(const std::string& expected) const {
        std::string found = "end of input";
        if (m_pos < m_text.size()) {
            const unsigned char c = static_cast<unsigned char>(m_text[m_pos]);
            if (c >= 0x20 && c < 0x7f) {
                found = std::string("'") + static_cast<char>(c) + "'";
            } else {
                char buf[16];
                std::snprintf(buf, sizeof(buf), "byte 0x%02x", c);
                found = buf;
            }
        }
        fail(StatusCode::FormatError, "JSON parse error at byte ", m_pos, ": expected ", expected,
             ", found ", found);
    }

    bool at_end() const { return m_pos >= m_text.size(); }
    char peek() const { return at_end() ? '\0' : m_text[m_pos]; }

    void skip_whitespace() {
        while (!at_end()) {
            const char c = m_text[m_pos];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                break;
            ++m_pos;
        }
    }

    void expect_literal(std::string_view word) {
        if (m_text.substr(m_pos, word.size()) != word)
            error(std::string("'") + std::string(word) + "'");
        m_pos += word.size();
    }

    Json parse_value(int depth) {
        if (at_end())
            error("a value");
        switch (m_text[m_pos]) {
            case '{':
                return parse_object(depth + 1);
            case '[':
                return parse_array(depth + 1);
            case '"':
                return Json(parse_string());
            case 't':
                expect_literal("true");
                return Json(true);
            case 'f':
                expect_literal("false");
                return Json(false);
            case 'n':
                expect_literal("null");
                return Json();
            default:
                break;
        }
        const char c = m_text[m_pos];
        if (c == '-' || (c >= '0' && c <= '9'))
            return parse_number();
        error("a value (object, array, string, number, true, false or null)");
    }

    void check_depth(int depth) const {
        if (depth > Json::kMaxDepth) {
            fail(StatusCode::FormatError, "JSON parse error at byte ", m_pos,
                 ": nesting deeper than ", Json::kMaxDepth, " levels");
        }
    }

    Json parse_object(int depth) {
        check_depth(depth);
        ++m_pos;  // '{'
        Json obj = Json::object();
        std::unordered_set<std::string> seen;
        skip_whitespace();
        if (peek() == '}') {
            ++m_pos;
            return obj;
        }
        for (;;) {
            skip_whitespace();
            if (peek() != '"')
                error("a string key");
            const size_t key_pos = m_pos;
            std::string key = parse_string();
            if (!seen.insert(key).second) {
                fail(StatusCode::FormatError, "JSON parse error at byte ", key_pos,
                     ": duplicate key \"", key, "\"");
            }
            skip_whitespace();
            if (peek() != ':')
                error("':' after an object key");
            ++m_pos;
            skip_whitespace();
            Json value = parse_value(depth);
            obj.m_object.emplace_back(std::move(key), std::move(value));
            skip_whitespace();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() == '}') {
                ++m_pos;
                return obj;
            }
            error("',' or '}' in an object");
        }
    }

    Json parse_array(int depth) {
        check_depth(depth);
        ++m_pos;  // '['
        Json arr = Json::array();
        skip_whitespace();
        if (peek() == ']') {
            ++m_pos;
            return arr;
        }
        for (;;) {
            skip_whitespace();
            arr.m_array.push_back(parse_value(depth));
            skip_whitespace();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() == ']') {
                ++m_pos;
                return arr;
            }
            error("',' or ']' in an array");
        }
    }

    Json parse_number() {
        const size_t start = m_pos;
        bool integer = true;
        if (peek() == '-')
            ++m_pos;
        if (peek() == '0') {
            ++m_pos;
        } else if (peek() >= '1' && peek() <= '9') {
            while (peek() >= '0' && peek() <= '9')
                ++m_pos;
        } else {
            error("a digit");
        }
        if (peek() == '.') {
            integer = false;
            ++m_pos;
            if (!(peek() >= '0' && peek() <= '9'))
                error("a digit after '.'");
            while (peek() >= '0' && peek() <= '9')
                ++m_pos;
        }
        if (peek() == 'e' || peek() == 'E') {
            integer = false;
            ++m_pos;
            if (peek() == '+' || peek() == '-')
                ++m_pos;
            if (!(peek() >= '0' && peek() <= '9'))
                error("a digit in the exponent");
            while (peek() >= '0' && peek() <= '9')
                ++m_pos;
        }
        const char* first = m_text.data() + start;
        const char* last = m_text.data() + m_pos;
        if (integer) {
            int64_t v = 0;
            auto [ptr, ec] = std::from_chars(first, last, v);
            if (ec == std::errc() && ptr == last)
                return Json(v);
            // Too large for int64: falls through to an inexact double.
        }
        double d = 0.0;
        auto [ptr, ec] = std::from_chars(first, last, d);
        if (ec != std::errc() || ptr != last || !std::isfinite(d)) {
            fail(StatusCode::FormatError, "JSON parse error at byte ", start, ": number '",
                 std::string(first, last), "' is out of range");
        }
        return Json(d);
    }

    unsigned parse_hex4() {
        if (m_pos + 4 > m_text.size())
            error("4 hex digits after \\u");
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = m_text[m_pos];
            unsigned d = 0;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                error("a hex digit in \\u escape");
            v = v * 16 + d;
            ++m_pos;
        }
        return v;
    }

    static void append_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    // Copies one UTF-8 encoded character (validated: shortest form, no surrogates, <= U+10FFFF).
    void copy_utf8_char(std::string& out) {
        const unsigned char c = static_cast<unsigned char>(m_text[m_pos]);
        int extra = 0;
        uint32_t cp = 0;
        if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            error("valid UTF-8 in a string");
        }
        if (m_pos + extra >= m_text.size())
            error("valid UTF-8 in a string");
        for (int i = 1; i <= extra; ++i) {
            const unsigned char cc = static_cast<unsigned char>(m_text[m_pos + i]);
            if ((cc & 0xC0) != 0x80)
                error("valid UTF-8 in a string");
            cp = (cp << 6) | (cc & 0x3F);
        }
        const bool overlong = (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
        if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            error("valid UTF-8 in a string");
        }
        out.append(m_text.data() + m_pos, extra + 1);
        m_pos += extra + 1;
    }

    std::string parse_string() {
        ++m_pos;  // opening quote
        std::string out;
        for (;;) {
            if (at_end())
                error("'\"' closing the string");
            const unsigned char c = static_cast<unsigned char>(m_text[m_pos]);
            if (c == '"') {
                ++m_pos;
                return out;
            }
            if (c < 0x20)
                error("an escaped control character in a string");
            if (c >= 0x80) {
                copy_utf8_char(out);
                continue;
            }
            if (c != '\\') {
                out += static_cast<char>(c);
                ++m_pos;
                continue;
            }
            ++m_pos;
            if (at_end())
                error("an escape character after '\\'");
            const char e = m_text[m_pos++];
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp = parse_hex4();
                    if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        m_pos -= 4;
                        error("a high surrogate before a low surrogate");
                    }
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (m_text.substr(m_pos, 2) != "\\u")
                            error("'\\u' low surrogate after a high surrogate");
                        m_pos += 2;
                        const uint32_t low = parse_hex4();
                        if (low < 0xDC00 || low > 0xDFFF) {
                            m_pos -= 4;
                            error("a low surrogate (DC00-DFFF)");
                        }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    --m_pos;
                    error("a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
            }
        }
    }

    std::string_view m_text;
    size_t m_pos = 0;
};

Json Json::parse(std::string_view text) {
    return JsonParser(text).parse_document();
}

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
