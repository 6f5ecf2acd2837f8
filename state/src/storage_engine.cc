#include "storage_engine.h"

#include <utility>

#include "big_endian.h"

namespace eventflow::state::internal {
namespace {

class EmptyIterator final : public KeyValueIterator {
 public:
  explicit EmptyIterator(Status status) : status_(std::move(status)) {}
  bool Valid() const override { return false; }
  void Next() override {}
  std::string_view key() const override { return {}; }
  std::string_view value() const override { return {}; }
  Status status() const override { return status_; }

 private:
  Status status_;
};

}  // namespace

std::unique_ptr<KeyValueIterator> NewEmptyIterator(Status status) {
  return std::make_unique<EmptyIterator>(std::move(status));
}

std::optional<std::string> PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xff) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return std::nullopt;
}

void EncodeInt64(int64_t value, std::string* out) {
  out->clear();
  AppendBigEndian(static_cast<uint64_t>(value), 8, out);
}

bool DecodeInt64(std::string_view bytes, int64_t* value) {
  if (bytes.size() != 8) return false;
  *value = static_cast<int64_t>(ReadBigEndian(bytes.data(), 8));
  return true;
}

}  // namespace eventflow::state::internal
