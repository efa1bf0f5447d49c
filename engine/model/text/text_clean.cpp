#include "model/text/text_clean.h"

#include <cstdint>

namespace lipar::model {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool is_white_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

// Code points that ftfy's remove_control_chars deletes.
bool is_removed_control(char32_t c) {
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
           (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC) ||
           (c >= 0x1D173 && c <= 0x1D17A) || (c >= 0xE0000 && c <= 0xE007F);
}

// Windows-1252 for bytes 0x80..0x9F; the five undefined bytes map to themselves, as in ftfy's
// "sloppy" codec and in HTML's numeric-reference table.
char32_t cp1252_c1(char32_t c) {
    static const char16_t kTable[32] = {
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
    return kTable[c - 0x80];
}

// Python's html._replace_charref for a numeric reference; returns false for "drop it".
bool numeric_reference(uint64_t value, char32_t* out) {
    if (value == 0x00) {
        *out = kReplacement;
        return true;
    }
    if (value == 0x0D) {
        *out = U'\r';
        return true;
    }
    if (value >= 0x80 && value <= 0x9F) {
        *out = cp1252_c1(static_cast<char32_t>(value));
        return true;
    }
    if ((value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) {
        *out = kReplacement;
        return true;
    }
    const auto c = static_cast<char32_t>(value);
    const bool invalid = (c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) ||
                         (c >= 0x7F && c <= 0x9F) || (c >= 0xFDD0 && c <= 0xFDEF) ||
                         (c & 0xFFFE) == 0xFFFE;
    if (invalid)
        return false;
    *out = c;
    return true;
}

bool is_digit(char32_t c) {
    return c >= U'0' && c <= U'9';
}
bool is_hex(char32_t c) {
    return is_digit(c) || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F');
}
uint32_t hex_value(char32_t c) {
    if (is_digit(c))
        return c - U'0';
    if (c >= U'a' && c <= U'f')
        return c - U'a' + 10;
    return c - U'A' + 10;
}
bool is_name_char(char32_t c) {
    return c != U'\t' && c != U'\n' && c != U'\f' && c != U' ' && c != U'<' && c != U'&' &&
           c != U'#' && c != U';';
}

// One pass of entity replacement over code points. `semicolon_only` restricts it to references
// terminated by ';' (ftfy's pre-pass).
std::u32string unescape(const std::u32string& s, bool semicolon_only) {
    std::u32string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] != U'&') {
            out.push_back(s[i++]);
            continue;
        }
        size_t j = i + 1;
        if (j < s.size() && s[j] == U'#') {
            size_t k = j + 1;
            const bool hex = k < s.size() && (s[k] == U'x' || s[k] == U'X');
            if (hex)
                ++k;
            const size_t digits_begin = k;
            uint64_t value = 0;
            while (k < s.size() && (hex ? is_hex(s[k]) : is_digit(s[k]))) {
                const uint64_t d = hex ? hex_value(s[k]) : (s[k] - U'0');
                value = value > 0x10FFFF ? value : value * (hex ? 16 : 10) + d;
                ++k;
            }
            const bool has_digits = k > digits_begin;
            const bool semicolon = k < s.size() && s[k] == U';';
            if (!has_digits || (semicolon_only && !semicolon)) {
                out.push_back(s[i++]);
                continue;
            }
            if (semicolon)
                ++k;
            char32_t c = 0;
            if (numeric_reference(value, &c))
                out.push_back(c);
            i = k;
            continue;
        }
        size_t k = j;
        while (k < s.size() && k - j < 32 && is_name_char(s[k]))
            ++k;
        if (k == j) {
            out.push_back(s[i++]);
            continue;
        }
        const bool semicolon = k < s.size() && s[k] == U';';
        const size_t name_len = k - j;
        // The name's first `len` characters as an ASCII string (empty if any is not ASCII).
        auto prefix = [&](size_t len) {
            std::string name;
            for (size_t m = j; m < j + len; ++m) {
                if (s[m] > 0x7F)
                    return std::string();
                name.push_back(static_cast<char>(s[m]));
            }
            return name;
        };
        if (semicolon) {
            const std::string name = prefix(name_len);
            if (!name.empty()) {
                if (auto c = lookup_html_entity(name, true)) {
                    out.push_back(*c);
                    i = k + 1;
                    continue;
                }
            }
        }
        if (semicolon_only) {
            out.push_back(s[i++]);
            continue;
        }
        // The longest legacy name that prefixes the reference (at least 2 characters); the rest
        // stays as text.
        bool replaced = false;
        for (size_t len = name_len; len >= 2 && !replaced; --len) {
            const std::string name = prefix(len);
            if (name.empty())
                continue;
            if (auto c = lookup_html_entity(name, false)) {
                out.push_back(*c);
                i = j + len;
                replaced = true;
            }
        }
        if (!replaced)
            out.push_back(s[i++]);
    }
    return out;
}

}  // namespace

void utf8_append(std::string& out, char32_t c) {
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        c = kReplacement;
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

std::u32string utf8_decode(const std::string& text) {
    std::u32string out;
    out.reserve(text.size());
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char b = p[i];
        size_t len = 0;
        char32_t c = 0;
        char32_t min = 0;
        if (b < 0x80) {
            out.push_back(b);
            ++i;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2, c = b & 0x1F, min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3, c = b & 0x0F, min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4, c = b & 0x07, min = 0x10000;
        } else {
            out.push_back(kReplacement);
            ++i;
            continue;
        }
        size_t k = 1;
        for (; k < len && i + k < n && (p[i + k] & 0xC0) == 0x80; ++k)
            c = (c << 6) | (p[i + k] & 0x3F);
        if (k < len) {  // truncated sequence: replace what was read
            out.push_back(kReplacement);
            i += k;
            continue;
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            c = kReplacement;
        out.push_back(c);
        i += len;
    }
    return out;
}

std::string utf8_encode(const std::u32string& text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t c : text)
        utf8_append(out, c);
    return out;
}

std::string fix_text(const std::string& text) {
    std::u32string s = utf8_decode(text);
    if (s.find(U'<') == std::u32string::npos)
        s = unescape(s, /*semicolon_only=*/true);

    std::u32string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        char32_t c = s[i];
        // Terminal escape sequences: ESC '[' (digits | ';')* letter.
        if (c == 0x1B && i + 1 < s.size() && s[i + 1] == U'[') {
            size_t k = i + 2;
            while (k < s.size() && (is_digit(s[k]) || s[k] == U';'))
                ++k;
            const bool letter =
                k < s.size() && ((s[k] >= U'a' && s[k] <= U'z') || (s[k] >= U'A' && s[k] <= U'Z'));
            if (letter) {
                i = k;
                continue;
            }
        }
        if (c >= 0x80 && c <= 0x9F)
            c = cp1252_c1(c);
        if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B))
            c = U'\'';
        if (c >= 0x201C && c <= 0x201F)
            c = U'"';
        if (c == U'\r' && i + 1 < s.size() && s[i + 1] == U'\n')
            continue;
        if (c == U'\r' || c == 0x2028 || c == 0x2029 || c == 0x85)
            c = U'\n';
        if (is_removed_control(c))
            continue;
        out.push_back(c);
    }
    return utf8_encode(out);
}

std::string html_unescape(const std::string& text) {
    if (text.find('&') == std::string::npos)
        return text;
    return utf8_encode(unescape(utf8_decode(text), /*semicolon_only=*/false));
}

std::string collapse_whitespace(const std::string& text) {
    const std::u32string s = utf8_decode(text);
    std::u32string out;
    out.reserve(s.size());
    bool pending_space = false;
    for (char32_t c : s) {
        if (is_white_space(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space)
            out.push_back(U' ');
        pending_space = false;
        out.push_back(c);
    }
    return utf8_encode(out);
}

std::string clean_prompt(const std::string& text) {
    return collapse_whitespace(html_unescape(html_unescape(fix_text(text))));
}

}  // namespace lipar::model
