#include "eventflow/state/key_value_store.h"

#include <vector>

#include "open_engine.h"
#include "store_base.h"

namespace eventflow::state {
namespace {

using internal::EngineReader;
using internal::EngineWrite;
using internal::kDefaultPartition;
using internal::StorageEngine;

// The read path of the store and of its committed views, over either reader.
Status GetKey(EngineReader& reader, std::string_view key, std::string* value) {
  return reader.Get(kDefaultPartition, key, value);
}
std::unique_ptr<KeyValueIterator> RangeOf(EngineReader& reader, std::string_view from,
                                          std::optional<std::string_view> to) {
  return reader.NewIterator(kDefaultPartition, from, to);
}

class KeyValueViewImpl final : public KeyValueStoreView {
 public:
  explicit KeyValueViewImpl(std::unique_ptr<EngineReader> reader) : reader_(std::move(reader)) {}
  Status Get(std::string_view key, std::string* value) override {
    return GetKey(*reader_, key, value);
  }
  std::unique_ptr<KeyValueIterator> Range(std::string_view from,
                                          std::optional<std::string_view> to) override {
    return RangeOf(*reader_, from, to);
  }
  std::unique_ptr<KeyValueIterator> All() override { return RangeOf(*reader_, "", std::nullopt); }

 private:
  std::unique_ptr<EngineReader> reader_;
};

class KeyValueStoreImpl final : public internal::StoreBase<KeyValueStore> {
 public:
  KeyValueStoreImpl(const StoreOptions& options, std::unique_ptr<StorageEngine> engine)
      : StoreBase(options.name, std::string(kKeyValueStoreFormat), std::move(engine),
                  options.changelog_writer, options.description) {}

  Status Open() { return OpenBase(); }

  Status Get(std::string_view key, std::string* value) override {
    return GetKey(engine(), key, value);
  }

  Status Put(std::string_view key, std::string_view value, int64_t timestamp) override {
    EVENTFLOW_RETURN_IF_ERROR(Log(key, value, timestamp));
    return engine().Put(kDefaultPartition, key, value);
  }

  Status Delete(std::string_view key, int64_t timestamp) override {
    EVENTFLOW_RETURN_IF_ERROR(Log(key, std::nullopt, timestamp));
    return engine().Delete(kDefaultPartition, key);
  }

  std::unique_ptr<KeyValueIterator> Range(std::string_view from, std::string_view to) override {
    return RangeOf(engine(), from, to);
  }

  std::unique_ptr<KeyValueIterator> All() override { return RangeOf(engine(), "", std::nullopt); }

  std::unique_ptr<KeyValueStoreView> NewCommittedView() override {
    return std::make_unique<KeyValueViewImpl>(engine().NewCommittedReader());
  }

  uint64_t ApproximateNumEntries() override {
    return engine().ApproximateNumEntries(kDefaultPartition);
  }

  Status Commit(int64_t changelog_offset) override {
    return CommitBase(changelog_offset, {}, /*extra_changed=*/false);
  }

  void Abort() override { engine().Abort(); }

  bool HasPendingWrites() const override { return engine().HasPending(); }

  Status Wipe() override { return WipeBase(); }

  Status RestoreBatch(std::span<const ChangelogRecord> records, int64_t end_offset) override {
    restore_writes_.clear();
    for (const ChangelogRecord& r : records) {
      restore_writes_.push_back({kDefaultPartition, r.key, r.value});
    }
    return RestoreBase(restore_writes_, end_offset, {});
  }

 private:
  std::vector<EngineWrite> restore_writes_;  // reused across batches
};

}  // namespace

Result<std::unique_ptr<KeyValueStore>> OpenKeyValueStore(const StoreOptions& options) {
  Result<std::unique_ptr<StorageEngine>> engine = internal::OpenEngine(options, 0);
  if (!engine.ok()) return engine.status();
  auto store = std::make_unique<KeyValueStoreImpl>(options, std::move(*engine));
  EVENTFLOW_RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<KeyValueStore>(std::move(store));
}

}  // namespace eventflow::state
