#include "eventflow/core/event_codec.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "eventflow/core/time.h"

namespace eventflow {
namespace {

namespace od = simdjson::ondemand;

constexpr size_t kNpos = std::string_view::npos;
constexpr char kHexDigits[] = "0123456789abcdef";

// ---------------------------------------------------------------------------
// Encoding

constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = true;
  table['\\'] = true;
  return table;
}();

// Appends `s` with JSON string escaping (no surrounding quotes).
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

// ---------------------------------------------------------------------------
// Error messages (only built when a record is rejected)

// Appends `text` as a JSON string literal, cut at a UTF-8 boundary after 64 bytes.
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

// "field "<name>" at byte <offset>: <problem>"
Status FieldError(std::string_view name, size_t offset, std::string_view problem) {
  std::string msg = "field ";
  AppendQuoted(name, &msg);
  msg.append(" at byte ").append(std::to_string(offset)).append(": ").append(problem);
  return Status::InvalidArgument(std::move(msg));
}

Status InputError(std::string msg) { return Status::InvalidArgument(std::move(msg)); }

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

template <typename Enum, size_t N>
std::string NameList(const std::array<Enum, N>& all) {
  std::string out;
  for (Enum e : all) {
    if (!out.empty()) out.append(", ");
    out.append(Name(e));
  }
  return out;
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view TrimTrailingSpace(std::string_view token) {
  while (!token.empty() && IsJsonSpace(token.back())) token.remove_suffix(1);
  return token;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True when `t` is exactly one JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
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

// Explains an error from simdjson's first pass over the whole input.
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

// Explains why the input's top level is not a complete JSON object.
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

// ---------------------------------------------------------------------------
// Decoding: one pass over the top-level object records where each field of the
// contract is; validation by event type happens afterwards, so the fields may
// come in any order and fields of other event types are ignored like unknown ones.

enum FieldId : uint8_t {
  kEventTypeField,
  kUserIdField,
  kCountryField,
  kDeviceField,
  kProductIdField,
  kCategoryField,
  kOrderIdField,
  kPriceField,
  kCurrencyField,
  kTimestampField,
  kFieldCount,
};

constexpr std::array<std::string_view, kFieldCount> kFieldNames{
    "eventType", "userId",  "country", "device",   "productId",
    "category",  "orderId", "price",   "currency", "timestamp"};

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

struct FieldSlot {
  std::string_view text;  // unescaped string value, or the trimmed raw token otherwise
  bool escaped = false;   // the string had escapes (only then can it hold a NUL)
  size_t key_offset = 0;
  size_t value_offset = 0;
  size_t duplicate_key_offset = 0;
  od::json_type type = od::json_type::null;
};

struct ScannedRecord {
  std::array<FieldSlot, kFieldCount> fields;
  uint32_t present = 0;     // bit per FieldId
  uint32_t duplicated = 0;  // bit per FieldId
};

// The eventType values of the contract.
enum class Kind : uint8_t { kLogin, kLogout, kSignup, kView, kOrder };
// The user-events kinds convert to and from UserEventType by value.
static_assert(static_cast<int>(Kind::kLogin) == static_cast<int>(UserEventType::kLogin));
static_assert(static_cast<int>(Kind::kLogout) == static_cast<int>(UserEventType::kLogout));
static_assert(static_cast<int>(Kind::kSignup) == static_cast<int>(UserEventType::kSignup));

EventTopic TopicOfKind(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return EventTopic::kProductView;
    case Kind::kOrder:
      return EventTopic::kOrders;
    default:
      return EventTopic::kUserEvents;
  }
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

// Validates the fields of a scanned record for one event type and converts them.
// Its steps return false after storing the reason, which error() hands out; the
// success path builds no Status. Views into the scanned record stay valid until
// the decoder's next record.
class RecordReader {
 public:
  RecordReader(const ScannedRecord& record, std::string_view json) : record_(record), json_(json) {}

  //! The reason for the last step that returned false.
  Status error() { return std::move(error_); }

  bool EventKind(Kind* kind) {
    std::string_view name;
    if (!String(kEventTypeField, &name)) return false;
    if (auto type = ParseUserEventType(name)) {
      *kind = static_cast<Kind>(*type);
    } else if (name == kViewEventType) {
      *kind = Kind::kView;
    } else if (name == kOrderEventType) {
      *kind = Kind::kOrder;
    } else {
      return Fail(kEventTypeField, "unknown eventType " + Quoted(name) + "; expected one of " +
                                       NameList(kAllUserEventTypes) + ", " +
                                       std::string(kViewEventType) + ", " +
                                       std::string(kOrderEventType));
    }
    kind_name_ = name;
    return true;
  }

  bool RequireTopic(Kind kind, EventTopic topic) {
    if (TopicOfKind(kind) == topic) return true;
    return Fail(kEventTypeField, "eventType " + Quoted(kind_name_) + " does not belong on topic " +
                                     std::string(TopicName(topic)));
  }

  bool Read(Kind kind, UserEvent* event) {
    event->type = static_cast<UserEventType>(kind);
    return Id(kUserIdField, &event->user_id) && Text(kCountryField, &event->country) &&
           Text(kDeviceField, &event->device) && Timestamp(&event->timestamp_ms);
  }

  bool Read(ProductView* event) {
    return Id(kUserIdField, &event->user_id) && Id(kProductIdField, &event->product_id) &&
           ReadCategory(&event->category) && Timestamp(&event->timestamp_ms);
  }

  bool Read(Order* event) {
    return Id(kOrderIdField, &event->order_id) && Id(kUserIdField, &event->user_id) &&
           Id(kProductIdField, &event->product_id) && Price(&event->price_cents) &&
           ReadCurrency(&event->currency) && Timestamp(&event->timestamp_ms);
  }

 private:
  bool Fail(FieldId id, std::string_view problem) {
    error_ = FieldError(kFieldNames[id], record_.fields[id].value_offset, problem);
    return false;
  }

  // The slot of a required field that is present exactly once.
  const FieldSlot* Slot(FieldId id) {
    const uint32_t bit = uint32_t{1} << id;
    const FieldSlot& found = record_.fields[id];
    if ((record_.present & bit) != 0 && (record_.duplicated & bit) == 0) return &found;
    std::string msg;
    if ((record_.present & bit) == 0) {
      msg = "missing required field ";
      AppendQuoted(kFieldNames[id], &msg);
      if (!kind_name_.empty()) msg.append(" for eventType ").append(Quoted(kind_name_));
      size_t end = json_.size();
      while (end > 0 && IsJsonSpace(json_[end - 1])) --end;
      msg.append(" in the object ending at byte ").append(std::to_string(end == 0 ? 0 : end - 1));
    } else {
      msg = "field ";
      AppendQuoted(kFieldNames[id], &msg);
      msg.append(" appears twice (keys at byte ")
          .append(std::to_string(found.key_offset))
          .append(" and byte ")
          .append(std::to_string(found.duplicate_key_offset))
          .append(")");
    }
    error_ = InputError(std::move(msg));
    return nullptr;
  }

  bool String(FieldId id, std::string_view* value, const FieldSlot** slot_out = nullptr) {
    const FieldSlot* slot = Slot(id);
    if (slot == nullptr) return false;
    if (slot->type != od::json_type::string) {
      return Fail(id, "expected a string, got " + std::string(JsonTypeName(slot->type)));
    }
    *value = slot->text;
    if (slot_out != nullptr) *slot_out = slot;
    return true;
  }

  // orderId, userId, productId: non-empty.
  bool Id(FieldId id, std::string* out) { return Text(id, out, /*allow_empty=*/false); }

  // country, device: may be empty.
  bool Text(FieldId id, std::string* out, bool allow_empty = true) {
    std::string_view value;
    const FieldSlot* slot = nullptr;
    if (!String(id, &value, &slot)) return false;
    if (value.empty() && !allow_empty) return Fail(id, "must not be empty");
    if (value.size() > kMaxIdBytes) {
      return Fail(id, "string of " + std::to_string(value.size()) +
                          " bytes is longer than the limit of " + std::to_string(kMaxIdBytes) +
                          " bytes");
    }
    // Raw NUL bytes are invalid JSON; only the escape \u0000 can put one here.
    if (slot->escaped && value.find('\0') != kNpos) {
      return Fail(id,
                  "string contains a NUL character (\\u0000), which PostgreSQL text "
                  "cannot store");
    }
    out->assign(value);
    return true;
  }

  bool ReadCategory(eventflow::Category* out) {
    std::string_view name;
    if (!String(kCategoryField, &name)) return false;
    const auto category = ParseCategory(name);
    if (!category) {
      return Fail(kCategoryField, "unknown category " + Quoted(name) + "; expected one of " +
                                      NameList(kAllCategories));
    }
    *out = *category;
    return true;
  }

  bool ReadCurrency(eventflow::Currency* out) {
    std::string_view name;
    if (!String(kCurrencyField, &name)) return false;
    const auto currency = ParseCurrency(name);
    if (!currency) {
      return Fail(kCurrencyField, "unknown currency " + Quoted(name) + "; expected one of " +
                                      NameList(kAllCurrencies));
    }
    *out = *currency;
    return true;
  }

  bool Timestamp(int64_t* epoch_ms) {
    std::string_view text;
    if (!String(kTimestampField, &text)) return false;
    Result<int64_t> parsed = ParseTimestampMillis(text);
    if (!parsed.ok()) {
      return Fail(kTimestampField,
                  "invalid timestamp " + Quoted(text) + ": " + parsed.status().message());
    }
    *epoch_ms = *parsed;
    return true;
  }

  bool Price(int64_t* cents) {
    const FieldSlot* slot = Slot(kPriceField);
    if (slot == nullptr) return false;
    if (slot->type != od::json_type::number) {
      return Fail(kPriceField, "expected a number, got " + std::string(JsonTypeName(slot->type)));
    }
    // The token is a valid JSON number (checked while scanning); read it exactly.
    const std::string_view token = slot->text;
    const bool negative = token.front() == '-';
    const std::string_view rest = token.substr(negative ? 1 : 0);
    size_t i = 0;
    while (i < rest.size() && IsDigit(rest[i])) ++i;
    const std::string_view integer = rest.substr(0, i);
    std::string_view fraction;
    if (i < rest.size() && rest[i] == '.') {
      const size_t first = ++i;
      while (i < rest.size() && IsDigit(rest[i])) ++i;
      fraction = rest.substr(first, i - first);
    }
    const bool has_exponent = i < rest.size();
    const bool is_zero =
        integer.find_first_not_of('0') == kNpos && fraction.find_first_not_of('0') == kNpos;
    if (negative && !is_zero) return Fail(kPriceField, "price " + Shown(token) + " is negative");
    if (has_exponent) {
      if (!is_zero && ExceedsMaxPrice(integer, fraction, rest.substr(i + 1))) {
        return Fail(kPriceField, "price " + Shown(token) + " exceeds 9999999999.99");
      }
      return Fail(kPriceField, "price " + Shown(token) +
                                   " is in exponent notation; write it as a plain decimal with "
                                   "at most 2 decimal places, e.g. 59.99");
    }
    // JSON forbids leading zeros, so more than 10 integer digits means >= 10^10.
    static_assert(kMaxPriceCents == 999'999'999'999, "the checks below assume numeric(12,2)");
    if (integer.size() > 10) {
      return Fail(kPriceField, "price " + Shown(token) + " exceeds 9999999999.99");
    }
    if (fraction.size() > 2 && fraction.find_first_not_of('0', 2) != kNpos) {
      return Fail(kPriceField, "price " + Shown(token) + " has more than 2 decimal places");
    }
    int64_t value = 0;
    for (char c : integer) value = value * 10 + (c - '0');
    for (size_t k = 0; k < 2; ++k) {
      value = value * 10 + (k < fraction.size() ? fraction[k] - '0' : 0);
    }
    *cents = value;
    return true;
  }

  // A number token for a message, cut after 40 bytes.
  static std::string Shown(std::string_view token) {
    constexpr size_t kMaxShownBytes = 40;
    if (token.size() <= kMaxShownBytes) return std::string(token);
    return std::string(token.substr(0, kMaxShownBytes)) + "...";
  }

  // Whether the non-zero number `integer`.`fraction` e`exponent` is >= 10^10.
  static bool ExceedsMaxPrice(std::string_view integer, std::string_view fraction,
                              std::string_view exponent) {
    bool exponent_negative = false;
    if (!exponent.empty() && (exponent[0] == '+' || exponent[0] == '-')) {
      exponent_negative = exponent[0] == '-';
      exponent.remove_prefix(1);
    }
    int64_t e = 0;
    for (char c : exponent) e = std::min<int64_t>(e * 10 + (c - '0'), 1'000'000);
    if (exponent_negative) e = -e;
    // The number of digits before the decimal point once the exponent is applied.
    const size_t first_significant = integer.find_first_not_of('0');
    int64_t integer_digits;
    if (first_significant != kNpos) {
      integer_digits = static_cast<int64_t>(integer.size() - first_significant) + e;
    } else {  // 0.000ddd: the first significant digit is worth 10^-(leading zeros + 1)
      integer_digits = e - static_cast<int64_t>(fraction.find_first_not_of('0'));
    }
    return integer_digits > 10;
  }

  const ScannedRecord& record_;
  std::string_view json_;
  std::string_view kind_name_;
  Status error_;
};

}  // namespace

void AppendPrice(int64_t price_cents, std::string* out) {
  uint64_t magnitude = static_cast<uint64_t>(price_cents);
  if (price_cents < 0) {
    out->push_back('-');
    magnitude = 0 - magnitude;
  }
  char buf[24];
  char* p = std::to_chars(buf, buf + sizeof(buf), magnitude / 100).ptr;
  *p++ = '.';
  *p++ = static_cast<char>('0' + magnitude % 100 / 10);
  *p++ = static_cast<char>('0' + magnitude % 10);
  out->append(buf, p);
}

void AppendJson(const UserEvent& event, std::string* out) {
  out->append(R"({"eventType":")");
  out->append(Name(event.type));
  out->append(R"(","userId":")");
  AppendEscaped(event.user_id, out);
  out->append(R"(","country":")");
  AppendEscaped(event.country, out);
  out->append(R"(","device":")");
  AppendEscaped(event.device, out);
  out->append(R"(","timestamp":")");
  AppendTimestamp(event.timestamp_ms, out);
  out->append(R"("})");
}

void AppendJson(const ProductView& event, std::string* out) {
  out->append(R"({"eventType":"VIEW","userId":")");
  AppendEscaped(event.user_id, out);
  out->append(R"(","productId":")");
  AppendEscaped(event.product_id, out);
  out->append(R"(","category":")");
  out->append(Name(event.category));
  out->append(R"(","timestamp":")");
  AppendTimestamp(event.timestamp_ms, out);
  out->append(R"("})");
}

void AppendJson(const Order& event, std::string* out) {
  out->append(R"({"eventType":"ORDER","orderId":")");
  AppendEscaped(event.order_id, out);
  out->append(R"(","userId":")");
  AppendEscaped(event.user_id, out);
  out->append(R"(","productId":")");
  AppendEscaped(event.product_id, out);
  out->append(R"(","price":)");
  AppendPrice(event.price_cents, out);
  out->append(R"(,"currency":")");
  out->append(Name(event.currency));
  out->append(R"(","timestamp":")");
  AppendTimestamp(event.timestamp_ms, out);
  out->append(R"("})");
}

void AppendJson(const Event& event, std::string* out) {
  std::visit([out](const auto& e) { AppendJson(e, out); }, event);
}

struct EventDecoder::Impl {
  //! Scans `json` into `record`; OK when it is one JSON object whose values are all valid.
  Status Scan(std::string_view json);

  od::parser parser;
  std::unique_ptr<char[]> buffer;  // capacity + SIMDJSON_PADDING bytes
  size_t capacity = 0;
  ScannedRecord record;
};

Status EventDecoder::Impl::Scan(std::string_view json) {
  constexpr size_t kInitialCapacity = 1024;
  if (json.empty()) return InputError("empty input; expected a JSON object");
  const size_t size = json.size();
  if (size > capacity) {
    const size_t grown = std::max({size, 2 * capacity, kInitialCapacity});
    buffer = std::make_unique_for_overwrite<char[]>(grown + simdjson::SIMDJSON_PADDING);
    capacity = grown;
    if (auto error = parser.allocate(grown)) return StageOneError(json, error);
  }
  char* base = buffer.get();
  std::memcpy(base, json.data(), size);
  // simdjson reads into the padding; zeros keep a stale '}' from an earlier, longer
  // record from being mistaken for the end of this one.
  std::memset(base + size, 0, simdjson::SIMDJSON_PADDING);

  od::document doc;
  if (auto error = parser.iterate(base, size, size + simdjson::SIMDJSON_PADDING).get(doc)) {
    return StageOneError(json, error);
  }
  od::object object;
  if (auto error = doc.get_object().get(object)) return TopLevelError(json, error);

  record.present = 0;
  record.duplicated = 0;
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
    if (id < 0 || (record.present & bit) != 0) {
      if (id >= 0 && (record.duplicated & bit) == 0) {
        record.duplicated |= bit;
        record.fields[id].duplicate_key_offset = key_offset;
      }
      EVENTFLOW_RETURN_IF_ERROR(checker.Check(value, 1));
      continue;
    }
    record.present |= bit;
    FieldSlot& slot = record.fields[id];
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

EventDecoder::EventDecoder() : impl_(std::make_unique<Impl>()) {}
EventDecoder::~EventDecoder() = default;
EventDecoder::EventDecoder(EventDecoder&&) noexcept = default;
EventDecoder& EventDecoder::operator=(EventDecoder&&) noexcept = default;

Result<UserEvent> EventDecoder::DecodeUserEvent(std::string_view json) {
  EVENTFLOW_RETURN_IF_ERROR(impl_->Scan(json));
  RecordReader reader(impl_->record, json);
  Kind kind = Kind::kLogin;
  UserEvent event;
  if (!reader.EventKind(&kind) || !reader.RequireTopic(kind, EventTopic::kUserEvents) ||
      !reader.Read(kind, &event)) {
    return reader.error();
  }
  return event;
}

Result<ProductView> EventDecoder::DecodeProductView(std::string_view json) {
  EVENTFLOW_RETURN_IF_ERROR(impl_->Scan(json));
  RecordReader reader(impl_->record, json);
  Kind kind = Kind::kView;
  ProductView event;
  if (!reader.EventKind(&kind) || !reader.RequireTopic(kind, EventTopic::kProductView) ||
      !reader.Read(&event)) {
    return reader.error();
  }
  return event;
}

Result<Order> EventDecoder::DecodeOrder(std::string_view json) {
  EVENTFLOW_RETURN_IF_ERROR(impl_->Scan(json));
  RecordReader reader(impl_->record, json);
  Kind kind = Kind::kOrder;
  Order event;
  if (!reader.EventKind(&kind) || !reader.RequireTopic(kind, EventTopic::kOrders) ||
      !reader.Read(&event)) {
    return reader.error();
  }
  return event;
}

Result<Event> EventDecoder::Decode(std::string_view json) {
  EVENTFLOW_RETURN_IF_ERROR(impl_->Scan(json));
  RecordReader reader(impl_->record, json);
  Kind kind = Kind::kLogin;
  if (!reader.EventKind(&kind)) return reader.error();
  switch (TopicOfKind(kind)) {
    case EventTopic::kUserEvents: {
      UserEvent event;
      if (!reader.Read(kind, &event)) return reader.error();
      return Event(std::move(event));
    }
    case EventTopic::kProductView: {
      ProductView event;
      if (!reader.Read(&event)) return reader.error();
      return Event(std::move(event));
    }
    case EventTopic::kOrders: {
      Order event;
      if (!reader.Read(&event)) return reader.error();
      return Event(std::move(event));
    }
  }
  return Status::Internal("unreachable event kind");
}

Result<Event> EventDecoder::DecodeFromTopic(EventTopic topic, std::string_view json) {
  switch (topic) {
    case EventTopic::kUserEvents: {
      Result<UserEvent> event = DecodeUserEvent(json);
      if (!event.ok()) return event.status();
      return Event(std::move(event).value());
    }
    case EventTopic::kProductView: {
      Result<ProductView> event = DecodeProductView(json);
      if (!event.ok()) return event.status();
      return Event(std::move(event).value());
    }
    case EventTopic::kOrders: {
      Result<Order> event = DecodeOrder(json);
      if (!event.ok()) return event.status();
      return Event(std::move(event).value());
    }
  }
  return Status::InvalidArgument("unknown EventTopic value");
}

}  // namespace eventflow
