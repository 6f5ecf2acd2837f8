// JSON's lexical rules as the event codec needs them, shared by the encoder
// (string escaping), the decoder's scan (whitespace, the number grammar) and its
// error messages. Private to eventflow::core; knows nothing of events.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace eventflow::codec_internal {

inline constexpr size_t kNpos = std::string_view::npos;
//! Lower-case hex digits, for \u00XX escapes.
inline constexpr char kHexDigits[] = "0123456789abcdef";

//! Appends `s` with JSON string escaping (no surrounding quotes): quotes, backslashes
//! and control characters are escaped, all other bytes passed through.
void AppendEscaped(std::string_view s, std::string* out);

//! Returns whether `c` is JSON whitespace (space, tab, line feed, carriage return).
inline bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

//! Returns `token` without its trailing JSON whitespace.
inline std::string_view TrimTrailingSpace(std::string_view token) {
  while (!token.empty() && IsJsonSpace(token.back())) token.remove_suffix(1);
  return token;
}

//! Returns whether `c` is an ASCII digit.
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

//! Returns whether `t` is exactly one JSON number:
//! -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view t);

}  // namespace eventflow::codec_internal
