// Json::parse: a recursive-descent parser with byte-offset errors.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_set>

#include "core/error.h"
#include "core/json.h"

namespace lipar {

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

}  // namespace lipar
