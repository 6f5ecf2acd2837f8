#include "json_text.h"

#include <array>

namespace eventflow::codec_internal {
namespace {

constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = true;
  table['\\'] = true;
  return table;
}();

}  // namespace

void AppendEscaped(std::string_view s, std::string* out) {
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!kNeedsEscape[c]) continue;
    out->append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    if (c == '"' || c == '\\') {
      const char escaped[2] = {'\\', static_cast<char>(c)};
      out->append(escaped, 2);
    } else {
      const char escaped[6] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 0xf]};
      out->append(escaped, 6);
    }
  }
  out->append(s.data() + run_start, s.size() - run_start);
}

bool IsJsonNumber(std::string_view t) {
  size_t i = 0;
  const size_t n = t.size();
  if (i < n && t[i] == '-') ++i;
  if (i >= n || !IsDigit(t[i])) return false;
  if (t[i++] != '0') {
    while (i < n && IsDigit(t[i])) ++i;
  }
  if (i < n && t[i] == '.') {
    const size_t first = ++i;
    while (i < n && IsDigit(t[i])) ++i;
    if (i == first) return false;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    const size_t first = i;
    while (i < n && IsDigit(t[i])) ++i;
    if (i == first) return false;
  }
  return i == n;
}

}  // namespace eventflow::codec_internal
