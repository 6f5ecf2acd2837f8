// StoreBase<Interface>: the StateStore half shared by every store — name,
// changelog writer, the committed offset and its status, store-format check,
// the StoreDescription record, commit/restore/wipe with metadata (offset and
// commit time) — over a StorageEngine.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/status.h"
#include "eventflow/state/changelog_writer.h"
#include "eventflow/state/store_options.h"
#include "storage_engine.h"

namespace eventflow::state::internal {

template <typename Interface>
class StoreBase : public Interface {
 public:
  const std::string& name() const override { return name_; }
  bool persistent() const override { return engine_->persistent(); }
  std::optional<int64_t> CommittedOffset() const override { return offset_; }
  Status OffsetStatus() const override { return offset_status_; }
  void SetChangelogWriter(ChangelogWriter* writer) override { changelog_ = writer; }
  std::optional<uint64_t> GetIntProperty(std::string_view property) override {
    return engine_->GetIntProperty(property);
  }

 protected:
  StoreBase(std::string name, std::string format, std::unique_ptr<StorageEngine> engine,
            ChangelogWriter* changelog, StoreDescription description)
      : name_(std::move(name)),
        format_(std::move(format)),
        engine_(std::move(engine)),
        changelog_(changelog),
        description_(std::move(description)) {}

  StorageEngine& engine() { return *engine_; }
  const StorageEngine& engine() const { return *engine_; }

  //! Checks (or, in a new store, writes) the store format, records the
  //! description and loads the offset.
  Status OpenBase() {
    std::string stored;
    Status s = engine_->GetMeta(kMetaStoreFormat, &stored);
    if (s.IsNotFound()) {
      const MetaWrite meta[] = {{kMetaStoreFormat, format_}};
      EVENTFLOW_RETURN_IF_ERROR(engine_->WriteDirect({}, meta));
    } else if (!s.ok()) {
      return s;
    } else if (stored != format_) {
      return Status::InvalidArgument("store '" + name_ + "' holds '" + stored +
                                     "' data, cannot open it as '" + format_ + "'");
    }
    EVENTFLOW_RETURN_IF_ERROR(RecordDescription());
    return LoadOffset();
  }

  //! Logs a change to the changelog, if there is a writer.
  Status Log(std::string_view key, std::optional<std::string_view> value, int64_t timestamp) {
    if (changelog_ == nullptr) return Status::OK();
    return changelog_->Log(key, value, timestamp);
  }

  //! Commits pending writes with the offset and `extra` metadata.
  Status CommitBase(int64_t offset, std::span<const MetaWrite> extra, bool extra_changed) {
    if (offset < 0) {
      return Status::InvalidArgument("store '" + name_ + "': negative changelog offset " +
                                     std::to_string(offset));
    }
    if (!engine_->HasPending() && !extra_changed && offset_ == offset) {
      engine_->ReleaseCachedIterators();  // nothing pinned while the store is idle
      return Status::OK();
    }
    EVENTFLOW_RETURN_IF_ERROR(engine_->Commit(WithOffset(offset, extra)));
    SetOffset(offset);
    return Status::OK();
  }

  //! Writes restored records with the offset and `extra` metadata.
  Status RestoreBase(std::span<const EngineWrite> writes, int64_t end_offset,
                     std::span<const MetaWrite> extra) {
    if (end_offset < 0) {
      return Status::InvalidArgument("store '" + name_ + "': negative changelog offset " +
                                     std::to_string(end_offset));
    }
    if (engine_->HasPending()) {
      return Status::InvalidArgument("store '" + name_ +
                                     "': RestoreBatch with uncommitted writes pending");
    }
    EVENTFLOW_RETURN_IF_ERROR(engine_->WriteDirect(writes, WithOffset(end_offset, extra)));
    SetOffset(end_offset);
    return Status::OK();
  }

  //! Deletes everything and re-creates an empty store of the same format.
  Status WipeBase() {
    EVENTFLOW_RETURN_IF_ERROR(engine_->Wipe());
    return OpenBase();
  }

  //! Returns "store '<name>'" for messages.
  std::string Context() const { return "store '" + name_ + "'"; }

 private:
  // Writes the description fields whose stored value differs (once per open).
  Status RecordDescription() {
    std::string window_size, partition;
    EncodeInt64(description_.window_size_ms, &window_size);
    EncodeInt64(description_.changelog_partition, &partition);
    const MetaWrite wanted[] = {{kMetaKeySerde, description_.key_serde},
                                {kMetaValueSerde, description_.value_serde},
                                {kMetaWindowSize, window_size},
                                {kMetaChangelogTopic, description_.changelog_topic},
                                {kMetaChangelogPartition, partition}};
    std::vector<MetaWrite> changed;
    std::string stored;
    for (const MetaWrite& w : wanted) {
      Status s = engine_->GetMeta(w.name, &stored);
      if (s.ok() && stored == w.value) continue;
      if (!s.ok() && !s.IsNotFound()) return s;
      changed.push_back(w);
    }
    if (changed.empty()) return Status::OK();
    return engine_->WriteDirect({}, changed);
  }

  std::span<const MetaWrite> WithOffset(int64_t offset, std::span<const MetaWrite> extra) {
    EncodeInt64(offset, &offset_bytes_);
    // Per commit, not per record: one clock read and one small metadata entry.
    EncodeInt64(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count(),
                &committed_at_bytes_);
    meta_.clear();
    meta_.push_back({kMetaChangelogOffset, offset_bytes_});
    meta_.push_back({kMetaCommittedAt, committed_at_bytes_});
    meta_.insert(meta_.end(), extra.begin(), extra.end());
    return meta_;
  }

  void SetOffset(int64_t offset) {
    offset_ = offset;
    offset_status_ = Status::OK();
  }

  Status LoadOffset() {
    std::string bytes;
    Status s = engine_->GetMeta(kMetaChangelogOffset, &bytes);
    offset_.reset();
    int64_t offset = 0;
    if (s.IsNotFound()) {
      offset_status_ = Status::NotFound(Context() + " has no committed changelog offset");
    } else if (!s.ok()) {
      return s;
    } else if (!DecodeInt64(bytes, &offset) || offset < 0) {
      offset_status_ = Status::Corruption(Context() + ": changelog offset entry is corrupt (" +
                                          std::to_string(bytes.size()) + " bytes)");
    } else {
      SetOffset(offset);
    }
    return Status::OK();
  }

  std::string name_;
  std::string format_;
  std::unique_ptr<StorageEngine> engine_;
  ChangelogWriter* changelog_;
  const StoreDescription description_;
  std::optional<int64_t> offset_;
  Status offset_status_;
  std::string offset_bytes_;
  std::string committed_at_bytes_;
  std::vector<MetaWrite> meta_;
};

}  // namespace eventflow::state::internal
