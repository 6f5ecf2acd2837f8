#include "eventflow/streams/store_codec.h"

#include <charconv>
#include <cmath>

#include "eventflow/core/table_format.h"
#include "eventflow/streams/serde.h"

namespace eventflow::streams {
namespace {

// True when `bytes` is well-formed UTF-8 (no overlongs, surrogates or code
// points beyond U+10FFFF).
bool ValidUtf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= bytes.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(bytes[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

void AppendHexObject(std::string_view bytes, std::string* json) {
  static constexpr char kDigits[] = "0123456789abcdef";
  json->append("{\"hex\":\"");
  for (unsigned char c : bytes) {
    json->push_back(kDigits[c >> 4]);
    json->push_back(kDigits[c & 0xf]);
  }
  json->append("\"}");
}

void AppendInt(int64_t v, std::string* json) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  json->append(buf, end);
}

}  // namespace

void AppendJsonText(std::string_view bytes, std::string* json) {
  if (ValidUtf8(bytes)) {
    AppendJsonString(bytes, json);
  } else {
    AppendHexObject(bytes, json);
  }
}

StoreCodec StoreCodec::Of(Key key, Value value) {
  StoreCodec codec;
  switch (key) {
    case Key::kString:
      codec.parse_key = [](std::string_view text, std::string* out) {
        out->assign(text);
        return Status::OK();
      };
      codec.render_key = [](std::string_view bytes, std::string* json) {
        AppendJsonText(bytes, json);
      };
      break;
    case Key::kInt64:
      codec.parse_key = [](std::string_view text, std::string* out) {
        int64_t v = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
          return Status::InvalidArgument("\"" + std::string(text.substr(0, 64)) +
                                         "\" is not a 64-bit integer key");
        }
        out->clear();
        Int64Serde().Serialize(v, out);
        return Status::OK();
      };
      codec.render_key = [](std::string_view bytes, std::string* json) {
        int64_t v = 0;
        if (Int64Serde().Deserialize(bytes, &v).ok()) {
          AppendInt(v, json);
        } else {
          AppendHexObject(bytes, json);
        }
      };
      break;
  }
  switch (value) {
    case Value::kString:
      codec.render_value = [](std::string_view bytes, std::string* json) {
        AppendJsonText(bytes, json);
      };
      break;
    case Value::kInt64:
      codec.render_value = [](std::string_view bytes, std::string* json) {
        int64_t v = 0;
        if (Int64Serde().Deserialize(bytes, &v).ok()) {
          AppendInt(v, json);
        } else {
          AppendHexObject(bytes, json);
        }
      };
      break;
    case Value::kDouble:
      codec.render_value = [](std::string_view bytes, std::string* json) {
        double v = 0;
        if (!DoubleSerde().Deserialize(bytes, &v).ok()) {
          AppendHexObject(bytes, json);
        } else if (!std::isfinite(v)) {
          json->append("null");
        } else {
          char buf[32];
          auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
          json->append(buf, end);
        }
      };
      break;
    case Value::kJson:
      codec.render_value = [](std::string_view bytes, std::string* json) { json->append(bytes); };
      break;
    case Value::kBytes:
      codec.render_value = [](std::string_view bytes, std::string* json) {
        AppendHexObject(bytes, json);
      };
      break;
  }
  return codec;
}

}  // namespace eventflow::streams
