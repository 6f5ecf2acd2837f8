#include "request_parts.h"

#include <algorithm>
#include <charconv>

#include "eventflow/core/table_format.h"
#include "eventflow/core/time.h"

namespace eventflow::queries::internal {
namespace {

template <typename T>
bool ParseInteger(std::string_view text, T* out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

void AppendHex(std::string_view bytes, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out->push_back(kDigits[c >> 4]);
    out->push_back(kDigits[c & 0xf]);
  }
}

bool DecodeHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]);
    const int lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

// Splits `line` at tabs into exactly `n` fields.
bool SplitFields(std::string_view line, size_t n, std::vector<std::string_view>* fields) {
  fields->clear();
  while (true) {
    const size_t tab = line.find('\t');
    fields->push_back(line.substr(0, tab));
    if (tab == std::string_view::npos) break;
    line.remove_prefix(tab + 1);
  }
  return fields->size() == n;
}

template <typename Entry, typename ParseLine>
Status ParseLines(std::string_view body, std::vector<Entry>* out, ParseLine parse) {
  std::vector<std::string_view> fields;
  while (!body.empty()) {
    const size_t eol = body.find('\n');
    const std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    if (line.empty()) continue;
    Entry entry;
    if (!parse(line, &fields, &entry)) {
      return Status::Corruption("malformed row in another instance's answer: \"" +
                                std::string(line.substr(0, 80)) + "\"");
    }
    out->push_back(std::move(entry));
  }
  return Status::OK();
}

}  // namespace

std::optional<std::vector<std::string>> PathSegments(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::vector<std::string> segments;
  while (!target.empty()) {
    if (target.front() == '/') {
      target.remove_prefix(1);
      continue;
    }
    const size_t slash = target.find('/');
    auto decoded = http::PercentDecode(target.substr(0, slash), /*plus_is_space=*/false);
    if (!decoded) return std::nullopt;
    segments.push_back(std::move(*decoded));
    target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
  }
  return segments;
}

Result<int64_t> TimeParameter(const http::Request& request, std::string_view name,
                              int64_t fallback) {
  const std::optional<std::string_view> text = request.Query(name);
  if (!text || text->empty()) return fallback;
  int64_t ms = 0;
  if (ParseInteger(*text, &ms)) {
    if (ms < 0) return Status::InvalidArgument(std::string(name) + ": a time cannot be negative");
    return ms;
  }
  auto parsed = ParseTimestampMillis(*text);
  if (!parsed.ok()) {
    return Status::InvalidArgument(std::string(name) + ": \"" + std::string(text->substr(0, 64)) +
                                   "\" is neither epoch milliseconds nor an RFC 3339 UTC time (" +
                                   parsed.status().message() + ")");
  }
  return *parsed;
}

Result<size_t> LimitParameter(const http::Request& request, size_t fallback, size_t max) {
  const std::optional<std::string_view> text = request.Query("limit");
  if (!text || text->empty()) return std::min(fallback, max);
  size_t limit = 0;
  if (!ParseInteger(*text, &limit) || limit < 1 || limit > max) {
    return Status::InvalidArgument("limit: \"" + std::string(text->substr(0, 32)) +
                                   "\" is not a number from 1 to " + std::to_string(max));
  }
  return limit;
}

std::optional<std::vector<int>> ParsePartitionList(std::string_view text) {
  std::vector<int> partitions;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    int p = -1;
    if (!ParseInteger(text.substr(0, comma), &p) || p < 0) return std::nullopt;
    partitions.push_back(p);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  if (partitions.empty()) return std::nullopt;
  return partitions;
}

void AppendJsonTime(int64_t epoch_ms, std::string* json) {
  json->push_back('"');
  AppendTimestamp(std::clamp<int64_t>(epoch_ms, 0, kMaxTimestampMillis), json);
  json->push_back('"');
}

void AppendJsonStringValue(std::string_view text, std::string* json) {
  AppendJsonString(text, json);
}

void AppendJsonField(std::string_view name, std::string* json, bool first) {
  if (!first) json->push_back(',');
  AppendJsonString(name, json);
  json->push_back(':');
}

void AppendRawRow(const streams::KeyValueEntry& entry, std::string* out) {
  AppendHex(entry.key, out);
  out->push_back('\t');
  AppendHex(entry.value, out);
  out->push_back('\n');
}

void AppendRawRow(std::string_view key, int64_t start, int64_t end, std::string_view value,
                  std::string* out) {
  AppendHex(key, out);
  out->append("\t" + std::to_string(start) + "\t" + std::to_string(end) + "\t");
  AppendHex(value, out);
  out->push_back('\n');
}

Status ParseRawRows(std::string_view body, std::vector<streams::KeyValueEntry>* out) {
  return ParseLines(
      body, out,
      [](std::string_view line, std::vector<std::string_view>* fields, streams::KeyValueEntry* e) {
        return SplitFields(line, 2, fields) && DecodeHex((*fields)[0], &e->key) &&
               DecodeHex((*fields)[1], &e->value);
      });
}

Status ParseRawRows(std::string_view body, std::vector<streams::WindowEntry>* out) {
  return ParseLines(
      body, out,
      [](std::string_view line, std::vector<std::string_view>* fields, streams::WindowEntry* e) {
        return SplitFields(line, 4, fields) && DecodeHex((*fields)[0], &e->key) &&
               ParseInteger((*fields)[1], &e->start) && ParseInteger((*fields)[2], &e->end) &&
               DecodeHex((*fields)[3], &e->value);
      });
}

}  // namespace eventflow::queries::internal
