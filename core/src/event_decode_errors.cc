#include "event_decode_errors.h"

#include <cstdint>

#include "json_text.h"

namespace eventflow::codec_internal {
namespace {

namespace od = simdjson::ondemand;

// Offset of the first byte that does not start a valid UTF-8 sequence, or kNpos.
size_t FirstInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t code_point;
    uint32_t min_code_point;
    if ((c & 0xe0) == 0xc0) {
      len = 2, code_point = c & 0x1f, min_code_point = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, code_point = c & 0x0f, min_code_point = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, code_point = c & 0x07, min_code_point = 0x10000;
    } else {
      return i;
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return i;
      code_point = (code_point << 6) | (p[i + k] & 0x3f);
    }
    if (code_point < min_code_point || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return i;
    }
    i += len;
  }
  return kNpos;
}

// A byte-by-byte walk of the input that explains what simdjson's stage 1 and the
// root-object check only report as an error code.
struct TextWalk {
  size_t first_value = kNpos;      // offset of the first non-space byte
  size_t value_end = kNpos;        // one past the first top-level container's closing bracket
  size_t trailing = kNpos;         // first non-space byte after value_end
  size_t control_char = kNpos;     // first unescaped byte < 0x20 inside a string
  size_t unclosed_string = kNpos;  // opening quote of a string the input does not close
};

TextWalk WalkText(std::string_view s) {
  TextWalk walk;
  size_t depth = 0;
  size_t string_start = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      } else if (c < 0x20 && walk.control_char == kNpos) {
        walk.control_char = i;
      }
      continue;
    }
    if (IsJsonSpace(static_cast<char>(c))) continue;
    if (walk.first_value == kNpos) walk.first_value = i;
    if (walk.value_end != kNpos) {
      if (walk.trailing == kNpos) walk.trailing = i;
    }
    if (c == '"') {
      in_string = true;
      string_start = i;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && depth > 0) {
      if (--depth == 0 && walk.value_end == kNpos) walk.value_end = i + 1;
    }
  }
  if (in_string) walk.unclosed_string = string_start;
  return walk;
}

}  // namespace

void AppendQuoted(std::string_view text, std::string* out) {
  constexpr size_t kMaxQuotedBytes = 64;
  const bool cut = text.size() > kMaxQuotedBytes;
  if (cut) {
    size_t n = kMaxQuotedBytes;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
    text = text.substr(0, n);
  }
  out->push_back('"');
  AppendEscaped(text, out);
  out->push_back('"');
  if (cut) out->append("...");
}

std::string Quoted(std::string_view text) {
  std::string out;
  AppendQuoted(text, &out);
  return out;
}

Status FieldError(std::string_view name, size_t offset, std::string_view problem) {
  std::string msg = "field ";
  AppendQuoted(name, &msg);
  msg.append(" at byte ").append(std::to_string(offset)).append(": ").append(problem);
  return Status::InvalidArgument(std::move(msg));
}

std::string_view JsonTypeName(od::json_type type) {
  switch (type) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "unknown";
}

Status StageOneError(std::string_view json, simdjson::error_code error) {
  switch (error) {
    case simdjson::UTF8_ERROR: {
      const size_t at = FirstInvalidUtf8(json);
      if (at == kNpos) return InputError("invalid UTF-8");
      return InputError("invalid UTF-8 at byte " + std::to_string(at));
    }
    case simdjson::UNESCAPED_CHARS: {
      const size_t at = WalkText(json).control_char;
      if (at == kNpos) return InputError("invalid JSON: unescaped control character in a string");
      const auto c = static_cast<unsigned char>(json[at]);
      return InputError(std::string("invalid JSON: unescaped control character 0x") +
                        kHexDigits[c >> 4] + kHexDigits[c & 0xf] + " in a string at byte " +
                        std::to_string(at) + " (it must be written as \\u00" + kHexDigits[c >> 4] +
                        kHexDigits[c & 0xf] + ")");
    }
    case simdjson::UNCLOSED_STRING: {
      const size_t at = WalkText(json).unclosed_string;
      return InputError("truncated JSON: the string starting at byte " +
                        std::to_string(at == kNpos ? 0 : at) + " is not closed by the end of " +
                        "the input (byte " + std::to_string(json.size()) + ")");
    }
    case simdjson::EMPTY:
      return InputError("input has no JSON value (only whitespace); expected a JSON object");
    case simdjson::CAPACITY:
      return InputError("record of " + std::to_string(json.size()) +
                        " bytes is larger than the JSON parser accepts");
    case simdjson::MEMALLOC:
      return Status::Internal("out of memory parsing a record of " + std::to_string(json.size()) +
                              " bytes");
    default:
      return InputError(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
}

Status TopLevelError(std::string_view json, simdjson::error_code error) {
  const TextWalk walk = WalkText(json);
  const size_t first = walk.first_value == kNpos ? 0 : walk.first_value;
  const char c = first < json.size() ? json[first] : '\0';
  if (c != '{') {
    std::string_view what = "an invalid JSON value";
    if (c == '[') {
      what = "an array";
    } else if (c == '"') {
      what = "a string";
    } else if (c == '-' || IsDigit(c)) {
      what = "a number";
    } else if (c == 't' || c == 'f') {
      what = "a boolean";
    } else if (c == 'n') {
      what = "null";
    }
    return InputError("top level at byte " + std::to_string(first) + " is " + std::string(what) +
                      ", not a JSON object");
  }
  if (walk.value_end == kNpos) {
    return InputError("truncated JSON: the object starting at byte " + std::to_string(first) +
                      " is not closed by the end of the input (byte " +
                      std::to_string(json.size()) + ")");
  }
  if (walk.trailing != kNpos) {
    return InputError("trailing content at byte " + std::to_string(walk.trailing) +
                      " after the JSON object that ends at byte " +
                      std::to_string(walk.value_end - 1));
  }
  return InputError(std::string("invalid JSON: ") + simdjson::error_message(error));
}

}  // namespace eventflow::codec_internal
