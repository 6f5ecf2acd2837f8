#include "eventflow/inspector/codec.h"

#include <simdjson.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "eventflow/core/table_format.h"
#include "eventflow/core/time.h"

namespace eventflow::inspector {
namespace {

constexpr char kHex[] = "0123456789abcdef";

uint64_t ReadBigEndian(std::string_view bytes) {
  uint64_t u = 0;
  for (unsigned char c : bytes) u = (u << 8) | c;
  return u;
}

void AppendBigEndian(uint64_t value, std::string* out) {
  char buf[8];
  for (int i = 7; i >= 0; --i, value >>= 8) buf[i] = static_cast<char>(value & 0xff);
  out->append(buf, 8);
}

bool IsUtf8(std::string_view bytes) { return simdjson::validate_utf8(bytes.data(), bytes.size()); }

bool HasControl(std::string_view bytes) {
  for (unsigned char c : bytes) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Parses JSON text; on success *minified holds it without insignificant space.
bool ParseJson(std::string_view text, std::string* minified, std::string* error) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element element;
  if (auto code = parser.parse(padded).get(element); code != simdjson::SUCCESS) {
    *error = std::string("not JSON: ") + simdjson::error_message(code);
    return false;
  }
  *minified = simdjson::to_string(element);
  return true;
}

void AppendDouble(double value, std::string* out, bool json) {
  if (std::isnan(value)) {
    out->append(json ? "\"NaN\"" : "NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? (json ? "\"Infinity\"" : "Infinity")
                          : (json ? "\"-Infinity\"" : "-Infinity"));
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out->append(buf, end);
  }
}

bool ParseInt64(std::string_view text, int64_t* value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

// Splits "windowed<inner>" / "session-windowed<inner>"; false otherwise.
bool InnerName(std::string_view name, std::string_view prefix, std::string_view* inner) {
  if (!name.starts_with(prefix) || !name.ends_with('>')) return false;
  *inner = name.substr(prefix.size(), name.size() - prefix.size() - 1);
  return true;
}

bool IsJsonName(std::string_view name) {
  return name == "json" || name.ends_with("-json") || name.ends_with("_json");
}

}  // namespace

Codec::Codec(Kind kind, std::string name, bool known, int64_t window_size_ms,
             std::shared_ptr<const Codec> inner)
    : kind_(kind),
      name_(std::move(name)),
      known_(known),
      window_size_ms_(window_size_ms),
      inner_(std::move(inner)) {}

Codec Codec::ForSerde(std::string_view name, int64_t window_size_ms) {
  std::string_view inner;
  if (InnerName(name, "windowed<", &inner)) {
    auto codec = std::make_shared<const Codec>(ForSerde(inner));
    return Codec(Kind::kWindowed, std::string(name), true, window_size_ms, std::move(codec));
  }
  if (InnerName(name, "session-windowed<", &inner)) {
    auto codec = std::make_shared<const Codec>(ForSerde(inner));
    return Codec(Kind::kSessionWindowed, std::string(name), true, 0, std::move(codec));
  }
  if (name == "string") return Codec(Kind::kString, "string", true, 0, nullptr);
  if (name == "int64" || name == "long")
    return Codec(Kind::kInt64, std::string(name), true, 0, nullptr);
  if (name == "double") return Codec(Kind::kDouble, "double", true, 0, nullptr);
  if (name == "void") return Codec(Kind::kVoid, "void", true, 0, nullptr);
  if (IsJsonName(name)) return Codec(Kind::kJson, std::string(name), true, 0, nullptr);
  if (name.empty()) return Codec(Kind::kBytes, "bytes", true, 0, nullptr);
  return Codec(Kind::kBytes, std::string(name), name == "bytes", 0, nullptr);
}

bool Codec::AppendJson(std::string_view bytes, std::string* out, std::string* error) const {
  switch (kind_) {
    case Kind::kBytes: {
      std::string escaped;
      AppendEscaped(bytes, &escaped);
      AppendJsonString(escaped, out);
      return true;
    }
    case Kind::kString:
      if (!IsUtf8(bytes)) {
        *error = "not valid UTF-8";
        return false;
      }
      AppendJsonString(bytes, out);
      return true;
    case Kind::kInt64:
      if (bytes.size() != 8) {
        *error = "int64 needs 8 bytes, got " + std::to_string(bytes.size());
        return false;
      }
      out->append(std::to_string(static_cast<int64_t>(ReadBigEndian(bytes))));
      return true;
    case Kind::kDouble:
      if (bytes.size() != 8) {
        *error = "double needs 8 bytes, got " + std::to_string(bytes.size());
        return false;
      }
      AppendDouble(std::bit_cast<double>(ReadBigEndian(bytes)), out, /*json=*/true);
      return true;
    case Kind::kVoid:
      if (!bytes.empty()) {
        *error = "void holds no bytes, got " + std::to_string(bytes.size());
        return false;
      }
      out->append("null");
      return true;
    case Kind::kJson: {
      std::string minified;
      if (!ParseJson(bytes, &minified, error)) return false;
      out->append(minified);
      return true;
    }
    case Kind::kWindowed:
    case Kind::kSessionWindowed:
      return AppendWindowedJson(bytes, out, error);
  }
  return false;
}

bool Codec::AppendWindowedJson(std::string_view bytes, std::string* out, std::string* error) const {
  const size_t suffix = kind_ == Kind::kWindowed ? 8 : 16;
  if (bytes.size() < suffix) {
    *error = name_ + " needs at least " + std::to_string(suffix) + " bytes, got " +
             std::to_string(bytes.size());
    return false;
  }
  const std::string_view key = bytes.substr(0, bytes.size() - suffix);
  const std::string_view times = bytes.substr(bytes.size() - suffix);
  int64_t start = 0;
  std::optional<int64_t> end;
  if (kind_ == Kind::kWindowed) {
    start = static_cast<int64_t>(ReadBigEndian(times));
    if (window_size_ms_ > 0) end = start + window_size_ms_;
  } else {
    end = static_cast<int64_t>(ReadBigEndian(times.substr(0, 8)));
    start = static_cast<int64_t>(ReadBigEndian(times.substr(8)));
  }
  std::string inner;
  if (!inner_->AppendJson(key, &inner, error)) return false;
  out->append("{\"key\":").append(inner);
  out->append(",\"start\":").append(std::to_string(start));
  out->append(",\"end\":").append(end ? std::to_string(*end) : "null");
  out->push_back('}');
  return true;
}

void Codec::AppendText(std::string_view bytes, std::string* out) const {
  std::string error;
  switch (kind_) {
    case Kind::kBytes:
      AppendEscaped(bytes, out);
      return;
    case Kind::kString:
      if (IsUtf8(bytes) && !HasControl(bytes)) {
        out->append(bytes);
        return;
      }
      if (IsUtf8(bytes)) {
        AppendEscaped(bytes, out);
        return;
      }
      error = "not valid UTF-8";
      break;
    case Kind::kDouble:
      if (bytes.size() == 8) {
        AppendDouble(std::bit_cast<double>(ReadBigEndian(bytes)), out, /*json=*/false);
        return;
      }
      error = "double needs 8 bytes";
      break;
    case Kind::kInt64:
    case Kind::kVoid:
    case Kind::kJson: {
      std::string json;
      if (AppendJson(bytes, &json, &error)) {
        out->append(json);
        return;
      }
      break;
    }
    case Kind::kWindowed:
    case Kind::kSessionWindowed: {
      const size_t suffix = kind_ == Kind::kWindowed ? 8 : 16;
      if (bytes.size() < suffix) {
        error = name_ + " needs at least " + std::to_string(suffix) + " bytes";
        break;
      }
      const std::string_view times = bytes.substr(bytes.size() - suffix);
      inner_->AppendText(bytes.substr(0, bytes.size() - suffix), out);
      if (kind_ == Kind::kWindowed) {
        const auto start = static_cast<int64_t>(ReadBigEndian(times));
        out->append(" [");
        AppendTime(start, out);
        out->append(", ");
        if (window_size_ms_ > 0) {
          AppendTime(start + window_size_ms_, out);
        } else {
          out->append("?");
        }
        out->append(")");
      } else {
        out->append(" [");
        AppendTime(static_cast<int64_t>(ReadBigEndian(times.substr(8))), out);
        out->append(", ");
        AppendTime(static_cast<int64_t>(ReadBigEndian(times.substr(0, 8))), out);
        out->append("]");
      }
      return;
    }
  }
  AppendEscaped(bytes, out);
  out->append(" (").append(error).append(")");
}

Result<std::string> Codec::Encode(std::string_view text) const {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("key \"" + std::string(text) + "\" " + std::string(why) +
                                   " (the store's keys use serde " + name_ + ")");
  };
  switch (kind_) {
    case Kind::kBytes: {
      Result<std::string> bytes = Unescape(text);
      if (!bytes.ok()) return bad(bytes.status().message());
      return bytes;
    }
    case Kind::kString:
      return std::string(text);
    case Kind::kInt64: {
      int64_t value = 0;
      if (!ParseInt64(text, &value)) return bad("is not a 64-bit integer");
      std::string out;
      AppendBigEndian(static_cast<uint64_t>(value), &out);
      return out;
    }
    case Kind::kDouble: {
      double value = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
        return bad("is not a number");
      }
      std::string out;
      AppendBigEndian(std::bit_cast<uint64_t>(value), &out);
      return out;
    }
    case Kind::kJson: {
      std::string minified, error;
      if (!ParseJson(text, &minified, &error)) return bad("is " + error);
      // Stored as the serde wrote it: the text as given.
      return std::string(text);
    }
    case Kind::kVoid:
    case Kind::kWindowed:
    case Kind::kSessionWindowed:
      return bad("cannot be typed: this key format has no text form; use --key-hex");
  }
  return bad("cannot be encoded");
}

void AppendEscaped(std::string_view bytes, std::string* out) {
  for (unsigned char c : bytes) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c >= 0x20 && c <= 0x7e) {
      out->push_back(static_cast<char>(c));
    } else {
      out->append("\\x");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    }
  }
}

Result<std::string> Unescape(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '\\') {
      out.push_back('\\');
      ++i;
      continue;
    }
    if (i + 3 < text.size() && text[i + 1] == 'x' && hex(text[i + 2]) >= 0 &&
        hex(text[i + 3]) >= 0) {
      out.push_back(static_cast<char>(hex(text[i + 2]) * 16 + hex(text[i + 3])));
      i += 3;
      continue;
    }
    return Status::InvalidArgument("has a bad escape at offset " + std::to_string(i) +
                                   " (write a backslash as \\\\ and other bytes as \\xNN)");
  }
  return out;
}

void AppendTime(int64_t epoch_ms, std::string* out) {
  if (epoch_ms >= 0 && epoch_ms <= kMaxTimestampMillis) {
    AppendTimestamp(epoch_ms, out);
  } else {
    out->append(std::to_string(epoch_ms));
  }
}

}  // namespace eventflow::inspector
