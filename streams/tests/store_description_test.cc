// The stores' description for tools (StoreSpec::key_serde / value_serde /
// window_size_ms, state::StoreDescription): the DSL names the serdes of the
// bytes it writes into each store, and ProcessorStateManager records them with
// the changelog topic and partition in the store's metadata when it opens the
// task's stores — what eventflow-state decodes keys and values with.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eventflow/state/store_options.h"
#include "eventflow/streams/join_windows.h"
#include "eventflow/streams/session_windowed_kstream.h"
#include "eventflow/streams/sliding_windowed_kstream.h"
#include "eventflow/streams/streams_builder.h"
#include "eventflow/streams/time_windowed_kstream.h"
#include "processor_state_manager.h"

namespace eventflow::streams {
namespace {

using S = std::string;
using std::chrono::milliseconds;

std::map<std::string, StoreSpec> SpecsByName(const Topology& topology) {
  std::map<std::string, StoreSpec> out;
  for (const StoreSpec& spec : topology.stores()) out.emplace(spec.name, spec);
  return out;
}

TEST(StoreDescriptionTest, TheDslNamesTheSerdesOfEveryStoreItWrites) {
  StreamsBuilder builder;
  builder.Table<S, S>("table-in", Consumed<S, S>::With(Serdes::String(), Serdes::String()),
                      Materialized<S, S>::As("table"));
  auto stream = builder.Stream<S, S>("in");
  stream.GroupByKey().Count(Materialized<S, int64_t>::As("counts"));
  stream.GroupByKey()
      .WindowedBy(TimeWindows::OfSizeAndGrace(milliseconds(300000), milliseconds(1000)))
      .Count(Materialized<S, int64_t>::As("tumbling"));
  stream.GroupByKey()
      .WindowedBy(SlidingWindows::OfTimeDifferenceAndGrace(milliseconds(100), milliseconds(10)))
      .Count(Materialized<S, int64_t>::As("sliding"));
  stream.GroupByKey()
      .WindowedBy(SessionWindows::OfInactivityGapAndGrace(milliseconds(50), milliseconds(10)))
      .Count(Materialized<S, int64_t>::As("sessions"));
  auto right = builder.Stream<S, int64_t>(
      "right", Consumed<S, int64_t>::With(Serdes::String(), Serdes::Int64()));
  stream
      .Join(
          right, [](const S& l, const int64_t& r) { return l + std::to_string(r); },
          JoinWindows::OfTimeDifferenceWithNoGrace(milliseconds(10)),
          StreamJoined<S, S, int64_t>::As("join"))
      .To("out");
  const Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok()) << topology.Validate().ToString();
  auto specs = SpecsByName(topology);

  EXPECT_EQ(specs.at("table").key_serde, "string");
  EXPECT_EQ(specs.at("table").value_serde, "string");
  EXPECT_EQ(specs.at("counts").key_serde, "string");
  EXPECT_EQ(specs.at("counts").value_serde, "int64");
  EXPECT_EQ(specs.at("counts").window_size_ms, 0);
  EXPECT_EQ(specs.at("tumbling").key_serde, "string");
  EXPECT_EQ(specs.at("tumbling").value_serde, "int64");
  EXPECT_EQ(specs.at("tumbling").window_size_ms, 300000);
  EXPECT_EQ(specs.at("sliding").window_size_ms, 100);  // Windowed keys [start, start + 100]
  EXPECT_EQ(specs.at("sessions").key_serde, "string");
  EXPECT_EQ(specs.at("sessions").value_serde, "int64");
  EXPECT_EQ(specs.at("sessions").window_size_ms, 0);
  // The join's window stores hold each side's records.
  int join_stores = 0;
  for (const auto& [name, spec] : specs) {
    if (name.find("join") == std::string::npos) continue;
    ++join_stores;
    EXPECT_EQ(spec.key_serde, "string") << name;
    EXPECT_EQ(spec.value_serde, name.find("this") != std::string::npos ? "string" : "int64")
        << name;
  }
  EXPECT_EQ(join_stores, 2);
}

// Reads a store's metadata column family directly (the store is closed).
std::map<std::string, std::string> ReadMeta(const std::filesystem::path& dir) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {std::string(state::kMetaColumnFamily), {}}};
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies({}, dir.string(), &names).ok()) << dir;
  for (const std::string& name : names) {
    if (name != rocksdb::kDefaultColumnFamilyName && name != state::kMetaColumnFamily) {
      families.push_back({name, {}});
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly({}, dir.string(), families, &handles, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::map<std::string, std::string> meta;
  if (!s.ok()) return meta;
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handles[1]));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    meta[it->key().ToString()] = it->value().ToString();
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  return meta;
}

int64_t BigEndian(const std::string& bytes) {
  EXPECT_EQ(bytes.size(), 8u);
  uint64_t u = 0;
  for (unsigned char c : bytes) u = (u << 8) | c;
  return static_cast<int64_t>(u);
}

TEST(StoreDescriptionTest, TheStateManagerRecordsItWithTheChangelogWhenOpening) {
  StreamsBuilder builder;
  builder.Stream<S, S>("in")
      .GroupByKey()
      .WindowedBy(TimeWindows::OfSizeWithNoGrace(milliseconds(60000)))
      .Count(Materialized<S, int64_t>::As("counts"));
  const Topology topology = builder.Build();
  ASSERT_TRUE(topology.Validate().ok());

  std::string pattern =
      (std::filesystem::temp_directory_path() / "eventflow-store-description-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path state_dir = pattern;
  {
    ProcessorStateManager::Options options;
    options.application_id = "app";
    options.state_dir = state_dir;
    ProcessorStateManager manager(TaskId{0, 2}, topology, {"counts"}, options);
    const int64_t wall_clock = 0;
    ASSERT_TRUE(manager.Open(/*collector=*/nullptr, &wall_clock).ok());
  }
  auto meta = ReadMeta(state_dir / "app" / "0_2" / "counts");
  EXPECT_EQ(meta[std::string(state::kMetaStoreFormat)], state::kWindowStoreFormat);
  EXPECT_EQ(meta[std::string(state::kMetaKeySerde)], "string");
  EXPECT_EQ(meta[std::string(state::kMetaValueSerde)], "int64");
  EXPECT_EQ(BigEndian(meta[std::string(state::kMetaWindowSize)]), 60000);
  EXPECT_EQ(meta[std::string(state::kMetaChangelogTopic)], "app-counts-changelog");
  EXPECT_EQ(BigEndian(meta[std::string(state::kMetaChangelogPartition)]), 2);
  std::filesystem::remove_all(state_dir);
}

}  // namespace
}  // namespace eventflow::streams
