#pragma once
// Prompt text clean-up as Wan's tokenizer wrapper does it (clean='whitespace'): ftfy.fix_text,
// html.unescape applied twice, strip, then every run of whitespace collapsed to one space.
// Pure functions on UTF-8 strings; thread-safe. Invalid UTF-8 bytes become U+FFFD.

#include <optional>
#include <string>

namespace lipar::model {

// The subset of ftfy.fix_text that changes prompts in practice: terminal escape sequences removed,
// C1 control characters read as Windows-1252, curly quotes straightened, line breaks unified,
// control characters removed, and (as ftfy's unescape_html="auto" does when the text has no '<')
// one pass of semicolon-terminated HTML entities. Mojibake repair and NFC are not done
// (SentencePiece's NFKC normalizer covers width and ligatures).
std::string fix_text(const std::string& text);

// Python's html.unescape: numeric references (&#39; &#x27;, ';' optional, with the HTML5
// replacements for invalid code points) and named references (a common subset of the HTML5
// table; legacy names also without ';'). Unknown references are left as they are.
std::string html_unescape(const std::string& text);

// Replaces each run of Unicode White_Space characters by one ' ' and trims both ends.
std::string collapse_whitespace(const std::string& text);

// Wan's full clean-up: collapse_whitespace(strip(html_unescape(html_unescape(fix_text(text))))).
// This normalized text is also the prompt part of the prompt-cache key.
std::string clean_prompt(const std::string& text);

// Named character reference lookup (name without '&' and ';'); with_semicolon=false accepts only
// the legacy names that HTML allows without it.
std::optional<char32_t> lookup_html_entity(const std::string& name, bool with_semicolon);

// UTF-8 helpers (invalid or overlong sequences and surrogates decode to U+FFFD).
std::u32string utf8_decode(const std::string& text);
std::string utf8_encode(const std::u32string& text);
void utf8_append(std::string& out, char32_t code_point);

}  // namespace lipar::model
