#include "eventflow/inspector/store_reader.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <thread>
#include <utility>

#include "eventflow/inspector/codec.h"
#include "eventflow/state/store_keys.h"
#include "eventflow/state/store_options.h"

namespace eventflow::inspector {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();
// Verify reports at most this many entry-level errors per store.
constexpr size_t kMaxEntryErrors = 10;

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

bool DecodeInt64(std::string_view bytes, int64_t* value) {
  if (bytes.size() != 8) return false;
  uint64_t u = 0;
  for (unsigned char c : bytes) u = (u << 8) | c;
  *value = static_cast<int64_t>(u);
  return true;
}

std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::nullopt;
}

std::string Escaped(std::string_view bytes) {
  std::string out;
  AppendEscaped(bytes, &out);
  return out;
}

// RocksDB's own messages are of no use to a reader of the tool's output.
class SilentLogger final : public rocksdb::Logger {
 public:
  SilentLogger() : Logger(rocksdb::InfoLogLevel::FATAL_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

Status FromRocksDb(const rocksdb::Status& s, const std::string& context) {
  const std::string message = context + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(message);
  if (s.IsNotFound()) return Status::NotFound(message);
  if (s.IsInvalidArgument() || s.IsNotSupported()) return Status::InvalidArgument(message);
  return Status::IOError(message);
}

StoreKind KindOfFormat(std::string_view format, bool* duplicates) {
  *duplicates = format == state::kWindowDuplicatesStoreFormat;
  if (format == state::kKeyValueStoreFormat) return StoreKind::kKeyValue;
  if (format == state::kWindowStoreFormat || *duplicates) return StoreKind::kWindow;
  if (format == state::kSessionStoreFormat) return StoreKind::kSession;
  return StoreKind::kUnknown;
}

// The first ms of segment column family `name`, or nullopt when it is not one.
std::optional<int64_t> SegmentStart(std::string_view name) {
  if (!name.starts_with(state::kSegmentColumnFamilyPrefix)) return std::nullopt;
  name.remove_prefix(state::kSegmentColumnFamilyPrefix.size());
  int64_t start = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), start);
  if (ec != std::errc() || ptr != name.data() + name.size() || start < 0) return std::nullopt;
  return start;
}

uint64_t DirectorySize(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    const uintmax_t size = it->file_size(file_ec);
    if (!file_ec) total += size;  // a file the live instance just deleted counts 0
  }
  return total;
}

// True when `inner` is `outer` or inside it.
bool Inside(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(inner, ec);
  const fs::path b = fs::weakly_canonical(outer, ec);
  auto [end, unused] = std::mismatch(b.begin(), b.end(), a.begin(), a.end());
  return end == b.end();
}

}  // namespace

std::string_view KindName(StoreKind kind) {
  switch (kind) {
    case StoreKind::kKeyValue:
      return "key-value";
    case StoreKind::kWindow:
      return "window";
    case StoreKind::kSession:
      return "session";
    case StoreKind::kUnknown:
      break;
  }
  return "unknown";
}

// The secondary instance and its column families.
class StoreReader::Db {
 public:
  ~Db() {
    if (!db) return;
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    db->Close().PermitUncheckedError();
  }

  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // all, in names order
  std::vector<std::string> names;
  rocksdb::ColumnFamilyHandle* default_cf = nullptr;
  rocksdb::ColumnFamilyHandle* meta_cf = nullptr;
  std::vector<std::pair<int64_t, rocksdb::ColumnFamilyHandle*>> segments;  // by start
  std::vector<std::string> other_families;  // neither data, meta nor a parsable segment
  std::vector<std::string> meta_problems;   // malformed metadata, for Verify
};

namespace {

// Opens `path` as a secondary with every column family it has now.
Status OpenSecondary(const fs::path& path, const fs::path& scratch, rocksdb::DBOptions options,
                     std::vector<std::string>* names,
                     std::vector<rocksdb::ColumnFamilyHandle*>* handles,
                     std::unique_ptr<rocksdb::DB>* db, const std::string& context) {
  names->clear();
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, path.string(), names);
  if (!s.ok()) return FromRocksDb(s, context + ": list column families");
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : *names)
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenAsSecondary(options, path.string(), scratch.string(), descriptors, handles,
                                   &raw);
  if (!s.ok()) return FromRocksDb(s, context + ": open as a secondary instance");
  db->reset(raw);
  s = (*db)->TryCatchUpWithPrimary();
  if (!s.ok()) {
    for (auto* handle : *handles) (*db)->DestroyColumnFamilyHandle(handle);
    handles->clear();
    db->reset();
    return FromRocksDb(s, context + ": catch up with the live instance");
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<StoreReader>> StoreReader::Open(const fs::path& dir,
                                                       const ReaderOptions& options) {
  Result<StoreLocation> location = LocateStore(dir);
  if (!location.ok()) return location.status();
  std::unique_ptr<StoreReader> reader(new StoreReader());
  reader->options_ = options;
  reader->info_.location = std::move(*location);
  const std::string context = "store '" + reader->info_.location.store + "' at " + dir.string();

  std::error_code ec;
  fs::path scratch_root = options.scratch_dir;
  if (scratch_root.empty()) scratch_root = fs::temp_directory_path(ec);
  if (ec)
    return Status::IOError("no temporary directory for the secondary instance: " + ec.message());
  if (Inside(scratch_root, dir)) {
    return Status::InvalidArgument(context + ": the scratch directory " + scratch_root.string() +
                                   " is inside the store; a reader never writes there");
  }
  std::string pattern = (scratch_root / "eventflow-state-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::IOError("cannot create a temporary directory in " + scratch_root.string() +
                           ": " + std::strerror(errno));
  }
  reader->scratch_ = pattern;

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = false;
  db_options.max_open_files = -1;  // open every table file now (see file comment)
  db_options.info_log = std::make_shared<SilentLogger>();
  auto db = std::make_unique<Db>();
  Status opened;
  for (int attempt = 1; attempt <= std::max(1, options.open_attempts); ++attempt) {
    opened = OpenSecondary(dir, reader->scratch_, db_options, &db->names, &db->handles, &db->db,
                           context);
    if (opened.ok()) break;
    // A column family dropped or a file replaced by the live instance between
    // listing and opening: look again.
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
  }
  if (!opened.ok()) return opened;

  StoreInfo& info = reader->info_;
  for (size_t i = 0; i < db->names.size(); ++i) {
    const std::string& name = db->names[i];
    if (name == rocksdb::kDefaultColumnFamilyName) {
      db->default_cf = db->handles[i];
    } else if (name == state::kMetaColumnFamily) {
      db->meta_cf = db->handles[i];
    } else if (std::optional<int64_t> start = SegmentStart(name)) {
      db->segments.emplace_back(*start, db->handles[i]);
    } else {
      db->other_families.push_back(name);
    }
  }
  std::sort(db->segments.begin(), db->segments.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [start, handle] : db->segments) info.segments.push_back(start);

  // The metadata.
  auto meta = [&](std::string_view key, std::string* value) -> bool {
    if (db->meta_cf == nullptr) return false;
    rocksdb::Status s = db->db->Get(rocksdb::ReadOptions(), db->meta_cf, ToSlice(key), value);
    if (!s.ok() && !s.IsNotFound()) {
      db->meta_problems.push_back("metadata " + std::string(key) + " unreadable: " + s.ToString());
    }
    return s.ok();
  };
  auto meta_int = [&](std::string_view key, int64_t* value) -> bool {
    std::string bytes;
    if (!meta(key, &bytes)) return false;
    if (DecodeInt64(bytes, value)) return true;
    db->meta_problems.push_back("metadata " + std::string(key) + " is corrupt (" +
                                std::to_string(bytes.size()) + " bytes, expected 8)");
    return false;
  };
  if (db->meta_cf == nullptr) {
    db->meta_problems.push_back(std::string("no ") + std::string(state::kMetaColumnFamily) +
                                " column family: not an EventFlow store");
  }
  meta(state::kMetaStoreFormat, &info.format);
  info.kind = KindOfFormat(info.format, &info.retain_duplicates);
  std::string offset_bytes;
  int64_t offset = 0;
  const std::string store = "store '" + info.location.store + "'";
  if (!meta(state::kMetaChangelogOffset, &offset_bytes)) {
    info.offset_status = Status::NotFound(store + " has no committed changelog offset");
  } else if (!DecodeInt64(offset_bytes, &offset) || offset < 0) {
    info.offset_status = Status::Corruption(store + ": changelog offset entry is corrupt (" +
                                            std::to_string(offset_bytes.size()) + " bytes)");
  } else {
    info.changelog_offset = offset;
  }
  int64_t value = 0;
  if (meta_int(state::kMetaCommittedAt, &value)) info.committed_at_ms = value;
  meta(state::kMetaKeySerde, &info.key_serde);
  meta(state::kMetaValueSerde, &info.value_serde);
  meta(state::kMetaChangelogTopic, &info.changelog_topic);
  if (meta_int(state::kMetaWindowSize, &value)) info.window_size_ms = value;
  if (meta_int(state::kMetaChangelogPartition, &value)) {
    info.changelog_partition = static_cast<int32_t>(value);
    info.changelog_recorded = true;
  }
  if (meta_int(state::kMetaSegmentInterval, &value)) info.segment_interval_ms = value;
  if (meta_int(state::kMetaExpiryHorizon, &value)) info.expiry_horizon_ms = value;

  info.size_bytes = DirectorySize(dir);
  auto estimate = [&](rocksdb::ColumnFamilyHandle* cf) {
    uint64_t keys = 0;
    if (cf != nullptr && db->db->GetIntProperty(cf, "rocksdb.estimate-num-keys", &keys)) {
      info.estimated_keys += keys;
    }
  };
  estimate(db->default_cf);
  for (const auto& [start, handle] : db->segments) estimate(handle);
  reader->db_ = std::move(db);
  return reader;
}

StoreReader::~StoreReader() {
  db_.reset();
  if (!scratch_.empty()) {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
}

namespace {

// Visits the entries of `cf` in [lower, upper) with checksums verified.
Status VisitFamily(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, std::string_view lower,
                   const std::optional<std::string>& upper, const std::string& context,
                   const std::function<bool(std::string_view, std::string_view)>& visit) {
  rocksdb::ReadOptions read;
  read.verify_checksums = true;
  read.fill_cache = false;
  const std::string lower_bytes(lower);
  const rocksdb::Slice lower_slice(lower_bytes);
  rocksdb::Slice upper_slice;
  if (upper) {
    upper_slice = rocksdb::Slice(*upper);
    read.iterate_upper_bound = &upper_slice;
  }
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read, cf));
  for (it->Seek(lower_slice); it->Valid(); it->Next()) {
    if (!visit(ToView(it->key()), ToView(it->value()))) break;
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), context + ": read");
  return Status::OK();
}

}  // namespace

Status StoreReader::Get(std::string_view key, std::string* value) {
  if (info_.kind != StoreKind::kKeyValue) {
    return Status::InvalidArgument("store '" + info_.location.store + "' is a " +
                                   std::string(KindName(info_.kind)) +
                                   " store: `get` reads key-value stores; use `windows`");
  }
  rocksdb::ReadOptions read;
  read.verify_checksums = true;
  rocksdb::Status s = db_->db->Get(read, db_->default_cf, ToSlice(key), value);
  if (s.IsNotFound()) return Status::NotFound("");
  if (!s.ok()) return FromRocksDb(s, "store '" + info_.location.store + "': get");
  return Status::OK();
}

namespace {

Status DecodeEntry(const StoreInfo& info, std::string_view key, std::string_view value,
                   StoreEntry* entry) {
  entry->value = value;
  switch (info.kind) {
    case StoreKind::kKeyValue:
      entry->key = key;
      return Status::OK();
    case StoreKind::kWindow: {
      state::WindowKeyView view;
      if (Status s = state::DecodeWindowKey(key, info.retain_duplicates, &view); !s.ok()) {
        return Status::Corruption("store '" + info.location.store + "': key " + Escaped(key) +
                                  ": " + s.message());
      }
      entry->key = view.key;
      entry->start = view.window_start;
      entry->end = info.window_size_ms > 0 ? view.window_start + info.window_size_ms : -1;
      entry->sequence = view.sequence;
      return Status::OK();
    }
    case StoreKind::kSession: {
      state::SessionKeyView view;
      if (Status s = state::DecodeSessionKey(key, &view); !s.ok()) {
        return Status::Corruption("store '" + info.location.store + "': key " + Escaped(key) +
                                  ": " + s.message());
      }
      entry->key = view.key;
      entry->start = view.start;
      entry->end = view.end;
      return Status::OK();
    }
    case StoreKind::kUnknown:
      break;
  }
  return Status::InvalidArgument("store '" + info.location.store + "' has format '" + info.format +
                                 "', which eventflow-state cannot decode");
}

// The time by which window (start) and session (end) entries expire and are segmented.
int64_t SegmentTime(const StoreInfo& info, const StoreEntry& entry) {
  return info.kind == StoreKind::kSession ? entry.end : entry.start;
}

Status UnknownFormat(const StoreInfo& info) {
  return Status::InvalidArgument("store '" + info.location.store + "' at " +
                                 info.location.path.string() +
                                 (info.format.empty() ? std::string(" records no store format")
                                                      : " has format '" + info.format + "'") +
                                 ", which eventflow-state cannot decode");
}

}  // namespace

Status StoreReader::Scan(const ScanRange& range, const EntryVisitor& visit) {
  if (info_.kind == StoreKind::kUnknown) return UnknownFormat(info_);
  const std::string context = "store '" + info_.location.store + "'";
  uint64_t visited = 0;
  bool stop = false;
  Status decode;
  StoreEntry entry;
  auto accept = [&](std::string_view key, std::string_view value) {
    decode = DecodeEntry(info_, key, value, &entry);
    if (!decode.ok()) return false;
    if (info_.kind != StoreKind::kKeyValue) {
      if (!options_.include_expired && SegmentTime(info_, entry) < info_.expiry_horizon_ms) {
        return true;
      }
      if ((range.from && entry.key < *range.from) || (range.to && entry.key > *range.to)) {
        return true;
      }
    }
    ++visited;
    if (!visit(entry) || (range.limit > 0 && visited >= range.limit)) stop = true;
    return !stop;
  };
  if (info_.kind == StoreKind::kKeyValue) {
    std::optional<std::string> upper;
    if (range.to) upper = *range.to + std::string(1, '\0');  // the smallest key after `to`
    EVENTFLOW_RETURN_IF_ERROR(VisitFamily(db_->db.get(), db_->default_cf, range.from.value_or(""),
                                          upper, context, accept));
    return decode;
  }
  for (const auto& [start, handle] : db_->segments) {
    EVENTFLOW_RETURN_IF_ERROR(
        VisitFamily(db_->db.get(), handle, "", std::nullopt, context, accept));
    if (!decode.ok()) return decode;
    if (stop) break;
  }
  return Status::OK();
}

Status StoreReader::Windows(std::string_view key, int64_t from, int64_t to,
                            const EntryVisitor& visit) {
  if (info_.kind == StoreKind::kUnknown) return UnknownFormat(info_);
  if (info_.kind == StoreKind::kKeyValue) {
    return Status::InvalidArgument("store '" + info_.location.store +
                                   "' is a key-value store: `windows` reads window and session "
                                   "stores; use `get`");
  }
  from = std::max<int64_t>(from, 0);
  if (from > to) return Status::OK();
  const std::string context = "store '" + info_.location.store + "'";
  const int64_t interval = std::max<int64_t>(info_.segment_interval_ms, 1);
  std::string prefix;
  state::EncodeKeyPrefix(key, &prefix);
  std::string lower;
  std::optional<std::string> upper;
  const bool window = info_.kind == StoreKind::kWindow;
  if (window) {
    state::EncodeWindowKey(key, from, &lower);
    if (to == kMaxTime) {
      upper = PrefixSuccessor(prefix);
    } else {
      upper.emplace();
      state::EncodeWindowKey(key, to + 1, &*upper);
    }
  } else {
    // [len][key][end][start]: sessions ending at `from` or later.
    state::EncodeSessionKey(key, 0, from, &lower);
    lower.resize(prefix.size() + 8);
    upper = PrefixSuccessor(prefix);
  }
  Status decode;
  bool stop = false;
  StoreEntry entry;
  auto accept = [&](std::string_view k, std::string_view v) {
    decode = DecodeEntry(info_, k, v, &entry);
    if (!decode.ok()) return false;
    if (!options_.include_expired && SegmentTime(info_, entry) < info_.expiry_horizon_ms) {
      return true;
    }
    const bool in_range =
        window ? entry.start >= from && entry.start <= to : entry.end >= from && entry.start <= to;
    if (!in_range) return true;
    if (!visit(entry)) stop = true;
    return !stop;
  };
  for (const auto& [start, handle] : db_->segments) {
    // Segment [start, start + interval) holds window starts (session ends).
    if (start + interval <= from || (window && start > to)) continue;
    EVENTFLOW_RETURN_IF_ERROR(VisitFamily(db_->db.get(), handle, lower, upper, context, accept));
    if (!decode.ok()) return decode;
    if (stop) break;
  }
  return Status::OK();
}

VerifyResult StoreReader::Verify() {
  VerifyResult result;
  const StoreInfo& info = info_;
  result.errors = db_->meta_problems;
  if (info.kind == StoreKind::kUnknown) result.errors.push_back(UnknownFormat(info).message());
  if (!info.offset_status.ok()) result.errors.push_back(info.offset_status.message());
  const bool segmented = info.kind == StoreKind::kWindow || info.kind == StoreKind::kSession;
  if (segmented && info.segment_interval_ms <= 0) {
    result.errors.push_back("no segment interval recorded (metadata " +
                            std::string(state::kMetaSegmentInterval) + ")");
  }
  if (info.key_serde.empty() && info.value_serde.empty()) {
    result.warnings.push_back(
        "no serdes recorded (a store written before the runtime recorded them, or a Processor "
        "API store that names none): keys and values are shown as bytes");
  }
  for (const std::string& name : db_->other_families) {
    result.errors.push_back("unknown column family '" + name + "'");
  }
  if (info.kind == StoreKind::kKeyValue && !db_->segments.empty()) {
    result.errors.push_back("a key-value store with " + std::to_string(db_->segments.size()) +
                            " segment column families");
  }
  const int64_t interval = info.segment_interval_ms;
  if (segmented && interval > 0) {
    for (const auto& [start, handle] : db_->segments) {
      if (start % interval != 0) {
        result.errors.push_back("segment." + std::to_string(start) +
                                " does not start on the segment interval " +
                                std::to_string(interval) + " ms");
      } else if (start + interval <= info.expiry_horizon_ms) {
        result.warnings.push_back("segment." + std::to_string(start) +
                                  " is wholly behind the expiry horizon " +
                                  std::to_string(info.expiry_horizon_ms) +
                                  " (dropped when the store is next opened or committed)");
      }
    }
  }
  // VerifyChecksum opens every table file of the view anew. Open already had
  // them all open (max_open_files = -1), so a file missing now was deleted
  // after Open by a live instance's compaction, not lost: its blocks are
  // still verified below, read through the files Open holds.
  rocksdb::Status checksums = db_->db->VerifyChecksum();
  if (checksums.IsPathNotFound()) {
    result.warnings.push_back(
        "table file checksums: a table file was compacted away by the live instance after this "
        "reader opened the store (" +
        checksums.ToString() +
        "); every entry's blocks are still verified through the files opened then");
  } else if (!checksums.ok()) {
    result.errors.push_back("table file checksums: " + checksums.ToString());
  }

  // Every entry, read with checksums verified and decoded by the layout.
  const std::string context = "store '" + info.location.store + "'";
  size_t entry_errors = 0;
  auto entry_error = [&](std::string message) {
    if (++entry_errors <= kMaxEntryErrors) result.errors.push_back(std::move(message));
  };
  StoreEntry entry;
  if (info.kind == StoreKind::kKeyValue || info.kind == StoreKind::kUnknown) {
    Status s = VisitFamily(db_->db.get(), db_->default_cf, "", std::nullopt, context,
                           [&](std::string_view, std::string_view) {
                             ++result.entries_checked;
                             return true;
                           });
    if (!s.ok()) result.errors.push_back(s.message());
  } else {
    uint64_t in_default = 0;
    Status s = VisitFamily(db_->db.get(), db_->default_cf, "", std::nullopt, context,
                           [&](std::string_view, std::string_view) {
                             ++in_default;
                             return true;
                           });
    if (!s.ok()) result.errors.push_back(s.message());
    if (in_default > 0) {
      result.errors.push_back(std::to_string(in_default) +
                              " entries in the default column family "
                              "of a " +
                              std::string(KindName(info.kind)) + " store");
    }
    for (const auto& [start, handle] : db_->segments) {
      const int64_t segment_start = start;
      s = VisitFamily(
          db_->db.get(), handle, "", std::nullopt, context,
          [&](std::string_view key, std::string_view value) {
            ++result.entries_checked;
            Status decoded = DecodeEntry(info, key, value, &entry);
            if (!decoded.ok()) {
              entry_error("segment." + std::to_string(segment_start) + ": " + decoded.message());
              return true;
            }
            const int64_t time = SegmentTime(info, entry);
            if (interval > 0 && (time < segment_start || time >= segment_start + interval)) {
              entry_error("segment." + std::to_string(segment_start) + ": key " +
                          Escaped(entry.key) + " at " + std::to_string(time) +
                          " ms lies outside the segment [" + std::to_string(segment_start) + ", " +
                          std::to_string(segment_start + interval) + ")");
            }
            return true;
          });
      if (!s.ok()) result.errors.push_back(s.message());
    }
  }
  if (entry_errors > kMaxEntryErrors) {
    result.errors.push_back("... and " + std::to_string(entry_errors - kMaxEntryErrors) +
                            " more bad entries");
  }
  return result;
}

}  // namespace eventflow::inspector
