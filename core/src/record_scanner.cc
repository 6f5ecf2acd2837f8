#include "record_scanner.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "event_decode_errors.h"
#include "eventflow/core/event_codec.h"
#include "json_text.h"

namespace eventflow::codec_internal {
namespace {

namespace od = simdjson::ondemand;

// The FieldId named `key` (already unescaped), or -1.
int FieldIdOf(std::string_view key) {
  for (size_t id = 0; id < kFieldNames.size(); ++id) {
    if (kFieldNames[id] == key) return static_cast<int>(id);
  }
  return -1;
}

// The FieldId of the key whose raw text starts at `raw` (just after its opening
// quote), or -1. Only keys written without escapes match; reading up to 10 bytes
// is safe because the key is followed by at least `:x}` or the buffer's padding.
int MatchRawKey(const char* raw) {
  // Literal names let the compiler inline the comparisons.
  const auto is = [raw](const auto& name) {
    constexpr size_t kLength = sizeof(name) - 1;
    return std::memcmp(raw, name, kLength) == 0 && raw[kLength] == '"';
  };
  switch (raw[0]) {
    case 'c':
      if (is("country")) return kCountryField;
      if (is("category")) return kCategoryField;
      if (is("currency")) return kCurrencyField;
      break;
    case 'd':
      if (is("device")) return kDeviceField;
      break;
    case 'e':
      if (is("eventType")) return kEventTypeField;
      break;
    case 'o':
      if (is("orderId")) return kOrderIdField;
      break;
    case 'p':
      if (is("productId")) return kProductIdField;
      if (is("price")) return kPriceField;
      break;
    case 't':
      if (is("timestamp")) return kTimestampField;
      break;
    case 'u':
      if (is("userId")) return kUserIdField;
      break;
  }
  return -1;
}

// The text between the quotes of a key or string whose raw text starts at `raw`,
// escapes not decoded. simdjson's first pass guarantees the closing quote.
std::string_view RawStringBody(const char* raw) {
  const char* p = raw;
  while (*p != '"') p += *p == '\\' ? 2 : 1;
  return {raw, static_cast<size_t>(p - raw)};
}

// Ids are short: a plain loop beats a call to memchr.
bool HasEscape(std::string_view body) {
  for (char c : body) {
    if (c == '\\') return true;
  }
  return false;
}

// The JSON type of a value token from its first byte; false if no value starts so.
bool TokenType(std::string_view token, od::json_type* type) {
  if (token.empty()) return false;
  switch (token[0]) {
    case '{':
      *type = od::json_type::object;
      return true;
    case '[':
      *type = od::json_type::array;
      return true;
    case '"':
      *type = od::json_type::string;
      return true;
    case 't':
    case 'f':
      *type = od::json_type::boolean;
      return true;
    case 'n':
      *type = od::json_type::null;
      return true;
    default:
      if (token[0] == '-' || IsDigit(token[0])) {
        *type = od::json_type::number;
        return true;
      }
      return false;
  }
}

// The body of a string token (`"..."` without trailing space), or false if the
// token is not a complete string.
bool StringTokenBody(std::string_view token, std::string_view* body) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return false;
  *body = token.substr(1, token.size() - 2);
  return true;
}

// Consumes a string value whose raw body is `*body`, replacing it with the decoded
// text when it has escapes. Strings must be consumed, not left for simdjson to skip:
// its skipper takes an unconsumed string followed by ':' for a key, which would let
// invalid JSON such as {"k":"v":[1]}} through. False if an escape is invalid.
bool ConsumeString(od::value& value, std::string_view* body, bool* escaped) {
  *escaped = HasEscape(*body);
  if (*escaped) return value.get_string().get(*body) == simdjson::SUCCESS;
  od::raw_json_string raw;
  return value.get_raw_json_string().get(raw) == simdjson::SUCCESS;
}

// Offset of the token where simdjson stopped, or the input's size at its end.
size_t CurrentOffset(od::document* doc, const char* base, size_t size) {
  const char* location = nullptr;
  if (doc->current_location().get(location) != simdjson::SUCCESS) return size;
  return static_cast<size_t>(location - base);
}

// Walks one JSON value that is not decoded (an unknown field, or a field of another
// event type) to check that it is valid JSON, no deeper than kMaxUnknownNestingDepth.
class ValueChecker {
 public:
  ValueChecker(const char* base, size_t size, od::document* doc, std::string_view field)
      : base_(base), size_(size), doc_(doc), field_(field) {}

  Status Check(od::value& value, int depth) {
    const std::string_view token = TrimTrailingSpace(value.raw_json_token());
    const size_t offset = static_cast<size_t>(token.data() - base_);
    od::json_type type;
    if (!TokenType(token, &type)) {
      return FieldError(field_, offset, "invalid JSON value " + Quoted(token));
    }
    switch (type) {
      case od::json_type::object:
        return CheckObject(value, offset, depth);
      case od::json_type::array:
        return CheckArray(value, offset, depth);
      case od::json_type::string: {
        std::string_view body;
        if (!StringTokenBody(token, &body)) {
          return FieldError(field_, offset, "invalid JSON string " + Quoted(token));
        }
        bool escaped = false;
        if (!ConsumeString(value, &body, &escaped)) {
          return FieldError(field_, offset, "invalid JSON string (bad escape sequence)");
        }
        return Status::OK();
      }
      case od::json_type::number:
        if (!IsJsonNumber(token)) {
          return FieldError(field_, offset, "invalid JSON number " + Quoted(token));
        }
        return Status::OK();
      case od::json_type::boolean:
      case od::json_type::null:
        if (token != "true" && token != "false" && token != "null") {
          return FieldError(field_, offset, "invalid JSON value " + Quoted(token));
        }
        return Status::OK();
    }
    return Status::OK();
  }

  //! Returns the error for a structural problem simdjson reported while iterating.
  Status SyntaxError(simdjson::error_code error) {
    return FieldError(field_, CurrentOffset(doc_, base_, size_),
                      std::string("invalid JSON: ") + simdjson::error_message(error));
  }

 private:
  Status TooDeep(size_t offset) {
    return FieldError(field_, offset,
                      "nested deeper than " + std::to_string(kMaxUnknownNestingDepth) +
                          " levels of arrays and objects");
  }

  Status CheckObject(od::value& value, size_t offset, int depth) {
    if (depth > kMaxUnknownNestingDepth) return TooDeep(offset);
    od::object object;
    if (auto error = value.get_object().get(object)) return SyntaxError(error);
    for (auto field_result : object) {
      if (auto error = field_result.error()) return SyntaxError(error);
      od::field&& field = std::move(field_result).value_unsafe();
      std::string_view key;
      if (HasEscape(RawStringBody(field.key().raw()))) {
        if (auto error = field.unescaped_key().get(key)) return SyntaxError(error);
      }
      EVENTFLOW_RETURN_IF_ERROR(Check(field.value(), depth + 1));
    }
    return Status::OK();
  }

  Status CheckArray(od::value& value, size_t offset, int depth) {
    if (depth > kMaxUnknownNestingDepth) return TooDeep(offset);
    od::array array;
    if (auto error = value.get_array().get(array)) return SyntaxError(error);
    for (auto element_result : array) {
      od::value element;
      if (auto error = std::move(element_result).get(element)) return SyntaxError(error);
      EVENTFLOW_RETURN_IF_ERROR(Check(element, depth + 1));
    }
    return Status::OK();
  }

  const char* base_;
  size_t size_;
  od::document* doc_;
  std::string_view field_;
};

}  // namespace

Status RecordScanner::Scan(std::string_view json) {
  constexpr size_t kInitialCapacity = 1024;
  if (json.empty()) return InputError("empty input; expected a JSON object");
  const size_t size = json.size();
  if (size > capacity_) {
    const size_t grown = std::max({size, 2 * capacity_, kInitialCapacity});
    buffer_ = std::make_unique_for_overwrite<char[]>(grown + simdjson::SIMDJSON_PADDING);
    capacity_ = grown;
    if (auto error = parser_.allocate(grown)) return StageOneError(json, error);
  }
  char* base = buffer_.get();
  std::memcpy(base, json.data(), size);
  // simdjson reads into the padding; zeros keep a stale '}' from an earlier, longer
  // record from being mistaken for the end of this one.
  std::memset(base + size, 0, simdjson::SIMDJSON_PADDING);

  od::document doc;
  if (auto error = parser_.iterate(base, size, size + simdjson::SIMDJSON_PADDING).get(doc)) {
    return StageOneError(json, error);
  }
  od::object object;
  if (auto error = doc.get_object().get(object)) return TopLevelError(json, error);

  record_.present = 0;
  record_.duplicated = 0;
  for (auto field_result : object) {
    if (auto error = field_result.error()) {
      return InputError("invalid JSON at byte " + std::to_string(CurrentOffset(&doc, base, size)) +
                        ": " + simdjson::error_message(error));
    }
    // Used in place: moving the field out of the result costs a store-forwarding stall.
    od::field&& field = std::move(field_result).value_unsafe();
    const char* raw_key = field.key().raw();
    const size_t key_offset = static_cast<size_t>(raw_key - 1 - base);
    int id = MatchRawKey(raw_key);
    std::string_view key = id >= 0 ? kFieldNames[id] : RawStringBody(raw_key);
    if (id < 0 && HasEscape(key)) {
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) {
        return InputError("invalid JSON: bad escape sequence in the key at byte " +
                          std::to_string(key_offset));
      }
      id = FieldIdOf(key);
    }
    od::value& value = field.value();
    ValueChecker checker(base, size, &doc, key);
    const uint32_t bit = id < 0 ? 0 : uint32_t{1} << id;
    if (id < 0 || (record_.present & bit) != 0) {
      if (id >= 0 && (record_.duplicated & bit) == 0) {
        record_.duplicated |= bit;
        record_.fields[id].duplicate_key_offset = key_offset;
      }
      EVENTFLOW_RETURN_IF_ERROR(checker.Check(value, 1));
      continue;
    }
    record_.present |= bit;
    FieldSlot& slot = record_.fields[id];
    slot.key_offset = key_offset;
    const std::string_view token = TrimTrailingSpace(value.raw_json_token());
    slot.value_offset = static_cast<size_t>(token.data() - base);
    if (!TokenType(token, &slot.type)) return checker.Check(value, 1);  // explains it
    if (slot.type == od::json_type::string) {
      if (!StringTokenBody(token, &slot.text)) return checker.Check(value, 1);
      // Most strings have no escapes and are used in place in the input buffer; the
      // rest are decoded into the parser's string buffer.
      if (!ConsumeString(value, &slot.text, &slot.escaped)) {
        return FieldError(key, slot.value_offset, "invalid JSON string (bad escape sequence)");
      }
    } else if (slot.type == od::json_type::number) {
      slot.text = token;
      if (!IsJsonNumber(token)) {
        return FieldError(key, slot.value_offset, "invalid JSON number " + Quoted(token));
      }
    } else {
      EVENTFLOW_RETURN_IF_ERROR(checker.Check(value, 1));
    }
  }

  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    return InputError("trailing content at byte " + std::to_string(trailing - base) +
                      " after the JSON object");
  }
  return Status::OK();
}

}  // namespace eventflow::codec_internal
