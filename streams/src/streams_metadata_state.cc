#include "streams_metadata_state.h"

#include <algorithm>
#include <map>

#include "eventflow/core/log.h"

namespace eventflow::streams {

StreamsMetadataState::StreamsMetadataState(const QueryableStores* stores,
                                           std::vector<std::vector<std::string>> source_topics,
                                           std::optional<HostInfo> self, DescribeGroup describe,
                                           Options options)
    : stores_(stores),
      source_topics_(std::move(source_topics)),
      self_(std::move(self)),
      describe_(std::move(describe)),
      options_(options) {}

std::string StreamsMetadataState::ClientIdWithEndpoint(std::string_view client_id,
                                                       const HostInfo& endpoint) {
  return std::string(client_id) + "@" + endpoint.ToString();
}

std::optional<HostInfo> StreamsMetadataState::EndpointOfClientId(std::string_view client_id) {
  const size_t at = client_id.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  auto endpoint = HostInfo::Parse(client_id.substr(at + 1), "client.id");
  if (!endpoint.ok()) return std::nullopt;
  return *endpoint;
}

void StreamsMetadataState::MarkStale() {
  std::lock_guard<std::mutex> lock(mu_);
  stale_ = true;
}

bool StreamsMetadataState::Fresh(const Snapshot& s, Clock::time_point now) const {
  return s.stable && s.generation == generation_.load(std::memory_order_relaxed) &&
         now - s.taken < options_.max_age;
}

Result<std::shared_ptr<const StreamsMetadataState::Snapshot>> StreamsMetadataState::Current() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (snapshot_ && !stale_ && Fresh(*snapshot_, Clock::now())) return snapshot_;
  }
  std::lock_guard<std::mutex> refreshing(refresh_mu_);
  const Clock::time_point now = Clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Another caller may have refreshed while this one waited.
    if (snapshot_ && !stale_ && Fresh(*snapshot_, now)) return snapshot_;
    if (snapshot_ && now - last_attempt_ < options_.min_refresh_interval) return snapshot_;
    last_attempt_ = now;
  }
  const uint64_t generation = generation_.load(std::memory_order_relaxed);
  Result<kafka::GroupDescription> described = describe_();
  if (!described.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!describe_failing_) {  // once per outage, not per query
      Log(LogLevel::kWarn, "interactive-queries",
          "cannot describe the consumer group to learn where tasks run: " +
              described.status().ToString() + (snapshot_ ? "; using the last description" : ""));
    }
    describe_failing_ = true;
    if (snapshot_) return snapshot_;
    return described.status();
  }
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->taken = now;
  snapshot->generation = generation;
  snapshot->stable = described->state == "Stable";
  for (const kafka::GroupMember& m : described->members) {
    Member member;
    member.host = EndpointOfClientId(m.client_id);
    for (const kafka::PartitionOffset& p : m.assignment) {
      member.partitions.emplace(p.topic, p.partition);
    }
    snapshot->members.push_back(std::move(member));
  }
  std::lock_guard<std::mutex> lock(mu_);
  snapshot_ = std::move(snapshot);
  stale_ = false;
  describe_failing_ = false;
  return snapshot_;
}

const std::vector<std::string>& StreamsMetadataState::TopicsOf(
    const QueryableStoreInfo& info) const {
  return source_topics_[static_cast<size_t>(&info - stores_->infos().data())];
}

const StreamsMetadataState::Member* StreamsMetadataState::OwnerOf(const Snapshot& s,
                                                                  const QueryableStoreInfo& info,
                                                                  int partition) const {
  for (const Member& m : s.members) {
    for (const std::string& topic : TopicsOf(info)) {
      if (m.partitions.count({topic, partition})) return &m;
    }
  }
  return nullptr;
}

Result<KeyQueryMetadata> StreamsMetadataState::ForKey(const QueryableStoreInfo& info,
                                                      std::string_view key) {
  KeyQueryMetadata metadata;
  Result<int> partition = stores_->PartitionOf(info, key);
  if (!partition.ok()) return partition.status();
  metadata.partition = *partition;
  if (stores_->StateOf(info.name, metadata.partition) != QueryableStores::PartitionState::kAbsent) {
    // Runs here, whatever the last description said.
    metadata.local = true;
    metadata.active_host = self_;
    return metadata;
  }
  auto snapshot = Current();
  if (!snapshot.ok()) return snapshot.status();
  if (const Member* owner = OwnerOf(**snapshot, info, metadata.partition)) {
    metadata.active_host = owner->host;
    metadata.local = self_.has_value() && owner->host == self_;
  }
  return metadata;
}

Result<std::vector<StreamsMetadata>> StreamsMetadataState::ForStore(
    const QueryableStoreInfo& info) {
  auto snapshot = Current();
  if (!snapshot.ok()) return snapshot.status();
  // By host (members without an endpoint together); the local entry first.
  std::map<std::optional<std::string>, StreamsMetadata> by_host;
  StreamsMetadata local;
  local.host = self_;
  local.local = true;
  local.partitions = stores_->LocalPartitions(info.name);
  for (int partition = 0; partition < info.partitions; ++partition) {
    const Member* owner = OwnerOf(**snapshot, info, partition);
    if (owner == nullptr) continue;
    if (self_.has_value() && owner->host == self_) {
      local.partitions.push_back(partition);
      continue;
    }
    const std::optional<std::string> key =
        owner->host ? std::optional<std::string>(owner->host->ToString()) : std::nullopt;
    StreamsMetadata& entry = by_host[key];
    entry.host = owner->host;
    entry.partitions.push_back(partition);
  }
  std::sort(local.partitions.begin(), local.partitions.end());
  local.partitions.erase(std::unique(local.partitions.begin(), local.partitions.end()),
                         local.partitions.end());
  std::vector<StreamsMetadata> out;
  if (!local.partitions.empty()) out.push_back(std::move(local));
  for (auto& [host, entry] : by_host) {
    // A partition this instance runs is answered here, not by a stale entry.
    std::erase_if(entry.partitions, [&](int p) {
      return !out.empty() && out[0].local &&
             std::binary_search(out[0].partitions.begin(), out[0].partitions.end(), p);
    });
    if (!entry.partitions.empty()) out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace eventflow::streams
