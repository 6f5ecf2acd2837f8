// The joins of KStream: with another KStream within JoinWindows, and with a
// KTable. Included by kstream.h; include that.
//
// KStream–KStream (Kafka's KStreamImplJoin):
//
//   KStream<std::string, Attribution> attributed = orders.Join(
//       views, [](const Order& o, const View& v) { return Attribution{o, v}; },
//       JoinWindows::OfTimeDifferenceAndGrace(std::chrono::minutes(5), std::chrono::seconds(30))
//           .After(std::chrono::milliseconds(0)),
//       StreamJoined<std::string, Order, View>::With(key_serde, order_serde, view_serde)
//           .WithName("order-views"));
//
// Joiners: Join takes (const V&, const V2&), LeftJoin (const V&, const
// std::optional<V2>&), OuterJoin (const std::optional<V>&, const
// std::optional<V2>&), each optionally with const K& first; VR is deduced.
// Semantics, lateness and the final-only null-joined results: see
// join_windows.h and KStreamKStreamJoin in internal/stream_stream_join.h.
//
// Nodes and stores, named as Kafka Streams names them (with StreamJoined's
// name "<name>" the suffixes in parentheses):
//   KSTREAM-WINDOWED-<n>  (-this-windowed)   this side's window store
//   KSTREAM-WINDOWED-<n>  (-other-windowed)  the other side's
//   KSTREAM-JOINTHIS-<n>  (-this-join)       this side's join; in outer joins
//     KSTREAM-OUTERTHIS-<n> (-outer-this-join)
//   KSTREAM-JOINOTHER-<n> (-other-join)      the other side's; in left/outer
//     joins KSTREAM-OUTEROTHER-<n> (-outer-other-join)
//   KSTREAM-MERGE-<n>     (-merge)           the result stream
// Stores: "<JOINTHIS/OUTERTHIS name>-store" and "<JOINOTHER/OUTEROTHER
// name>-store" (window stores with duplicates), and for left/outer joins
// "KSTREAM-OUTERSHARED-<n of the this-join>-store"; with StreamJoined's store
// name "<s>": "<s>-this-join-store", "<s>-other-join-store" (with "-outer-"
// as above) and "<s>-left-shared-join-store" / "<s>-outer-shared-join-store".
// Retention of all three: before + after + grace (Kafka's; at least 1 ms),
// default segment interval; changelogged unless StreamJoined disables it.
// Serdes: StreamJoined's, else the streams' (the key: this stream's, else the
// other's), else DefaultSerde; none is an error naming the operation.
//
// KStream–KTable (Kafka's KStreamKTableJoin): each record looks the table's
// current value of its key up; "KSTREAM-JOIN-<n>" / "KSTREAM-LEFTJOIN-<n>"
// (Joined's name). The table may be materialized or derived from one (see
// ktable.h). Deviation until Topology can connect a processor to an existing
// store: a processor "<join>-table" that forwards nothing follows the table,
// so that the join runs in the table's sub-topology (its task has the
// table's store); Kafka Streams instead lists the store on the join node.
//
// Co-partitioning: a stream whose key may have changed (see kstream.h) first
// goes through "<stem>-repartition": stem = StreamJoined's name + "-left" /
// "-right" (Joined's name for a table join), else the stream's node name
// (Kafka's choice) and a warning. Joined streams and tables end up in one
// sub-topology, whose source topics the runtime requires co-partitioned.
//
// Lifecycle and thread-safety: as for KStream.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "eventflow/streams/dsl_options.h"
#include "eventflow/streams/internal/internal_streams_builder.h"
#include "eventflow/streams/internal/joiner.h"
#include "eventflow/streams/internal/stream_stream_join.h"
#include "eventflow/streams/internal/stream_table_join.h"
#include "eventflow/streams/internal/table_value_getters.h"
#include "eventflow/streams/join_windows.h"
#include "eventflow/streams/kstream.h"
#include "eventflow/streams/ktable.h"
#include "eventflow/streams/topology.h"

namespace eventflow::streams {

template <typename K, typename V>
template <typename V2, typename F>
auto KStream<K, V>::Join(const KStream<K, V2>& other, F joiner, const JoinWindows& windows,
                         const StreamJoined<K, V, V2>& joined) const {
  return DoStreamJoin<internal::JoinKind::kInner, V2>("KStream::Join", other, std::move(joiner),
                                                      windows, joined);
}

template <typename K, typename V>
template <typename V2, typename F>
auto KStream<K, V>::LeftJoin(const KStream<K, V2>& other, F joiner, const JoinWindows& windows,
                             const StreamJoined<K, V, V2>& joined) const {
  return DoStreamJoin<internal::JoinKind::kLeft, V2>("KStream::LeftJoin", other, std::move(joiner),
                                                     windows, joined);
}

template <typename K, typename V>
template <typename V2, typename F>
auto KStream<K, V>::OuterJoin(const KStream<K, V2>& other, F joiner, const JoinWindows& windows,
                              const StreamJoined<K, V, V2>& joined) const {
  return DoStreamJoin<internal::JoinKind::kOuter, V2>("KStream::OuterJoin", other,
                                                      std::move(joiner), windows, joined);
}

template <typename K, typename V>
template <typename VT, typename F>
auto KStream<K, V>::Join(const KTable<K, VT>& table, F joiner,
                         const Joined<K, V, VT>& joined) const {
  return DoTableJoin<internal::JoinKind::kInner, VT>("KStream::Join", table, std::move(joiner),
                                                     joined);
}

template <typename K, typename V>
template <typename VT, typename F>
auto KStream<K, V>::LeftJoin(const KTable<K, VT>& table, F joiner,
                             const Joined<K, V, VT>& joined) const {
  return DoTableJoin<internal::JoinKind::kLeft, VT>("KStream::LeftJoin", table, std::move(joiner),
                                                    joined);
}

template <typename K, typename V>
KStream<K, V> KStream<K, V>::RepartitionForJoin(std::string_view operation,
                                                const std::optional<std::string>& name,
                                                SerdePtr<K> key_serde,
                                                SerdePtr<V> value_serde) const {
  if (!repartition_required_) return *this;
  const bool generated = !name.has_value();
  const std::string stem = generated ? node_ : *name;
  if (generated) {
    internal::InternalStreamsBuilder::WarnGeneratedRepartitionTopic(
        operation, stem + std::string(internal::kRepartitionTopicSuffix),
        "StreamJoined<K, V1, V2>::WithName(\"<name>\") or Joined<K, V, VT>::As(\"<name>\")");
  }
  if (!key_serde || !value_serde) return *this;  // the error is recorded
  std::string source = internal::AddRepartitionTopic<K, V>(*builder_, operation, stem, generated,
                                                           -1, key_serde, value_serde, node_,
                                                           /*null_key_filter=*/true);
  return KStream(builder_, std::move(source), std::move(key_serde), std::move(value_serde));
}

template <typename K, typename V>
template <internal::JoinKind kKind, typename V2, typename F>
auto KStream<K, V>::DoStreamJoin(std::string_view operation, const KStream<K, V2>& other, F joiner,
                                 const JoinWindows& windows,
                                 const StreamJoined<K, V, V2>& joined) const {
  using VR = internal::JoinerResult<kKind, K, V, V2, F>;
  static_assert(!std::is_void_v<VR>,
                "KStream::Join/LeftJoin/OuterJoin: the joiner must be callable as (a, b) or "
                "(const K& key, a, b), with a = const V& (OuterJoin: const std::optional<V>&) "
                "and b = const V2& (LeftJoin, OuterJoin: const std::optional<V2>&)");
  using Fn = internal::JoinFn<K, V, V2, VR>;
  auto fn =
      std::make_shared<const Fn>(internal::MakeJoiner<kKind, K, V, V2, VR>(std::move(joiner)));
  if (!*fn) builder_->RecordError(operation, "the joiner is empty");
  if (Status valid = windows.Validate(); !valid.ok()) {
    builder_->RecordError(operation, valid.message());
  }
  if (other.builder_ != builder_) {
    builder_->RecordError(operation,
                          "stream \"" + other.node_ + "\" belongs to another StreamsBuilder");
    return KStream<K, VR>(builder_, node_, key_serde_, nullptr);
  }
  const std::optional<std::string>& name = joined.name;
  if (name) builder_->CheckName(operation, "join name", *name);
  if (joined.store_name) builder_->CheckName(operation, "store name", *joined.store_name);
  SerdePtr<K> key_serde = internal::ResolveSerde<K>(*builder_, operation, "key", joined.key_serde,
                                                    key_serde_ ? key_serde_ : other.key_serde_);
  SerdePtr<V> value_serde =
      internal::ResolveSerde<V>(*builder_, operation, "value", joined.value_serde, value_serde_);
  SerdePtr<V2> other_value_serde = internal::ResolveSerde<V2>(
      *builder_, operation, "other value", joined.other_value_serde, other.value_serde_);

  // Kafka Streams' order: repartitions, then the names.
  auto suffixed = [&](const char* suffix) -> std::optional<std::string> {
    if (!name) return std::nullopt;
    return *name + suffix;
  };
  const KStream<K, V> left =
      RepartitionForJoin(operation, suffixed("-left"), key_serde, value_serde);
  const KStream<K, V2> right =
      other.RepartitionForJoin(operation, suffixed("-right"), key_serde, other_value_serde);

  constexpr bool kLeftOuter = kKind != internal::JoinKind::kInner;
  constexpr bool kRightOuter = kKind == internal::JoinKind::kOuter;
  const internal::StreamJoinNames names =
      builder_->DrawStreamJoinNames(operation, name, joined.store_name, kLeftOuter, kRightOuter);
  if (!key_serde || !value_serde || !other_value_serde) {
    return KStream<K, VR>(builder_, names.merge, key_serde, nullptr);  // the error is recorded
  }

  const internal::StreamJoinSpec spec{windows.before_ms(), windows.after_ms(), windows.grace_ms(),
                                      kLeftOuter, kRightOuter};
  Topology& topology = builder_->topology();
  topology.AddProcessor<K, V, K, V>(
      names.this_windowed,
      [store = names.this_store, spec, key_serde, value_serde] {
        return std::make_unique<internal::KStreamJoinWindow<K, V>>(store, true, spec, key_serde,
                                                                   value_serde);
      },
      {left.node_});
  topology.AddProcessor<K, V2, K, V2>(
      names.other_windowed,
      [store = names.other_store, spec, key_serde, other_value_serde] {
        return std::make_unique<internal::KStreamJoinWindow<K, V2>>(store, false, spec, key_serde,
                                                                    other_value_serde);
      },
      {right.node_});
  topology.AddProcessor<K, V, K, VR>(
      names.join_this,
      [other_store = names.other_store, outer_store = names.outer_store, spec, fn, key_serde,
       value_serde, other_value_serde] {
        return std::make_unique<internal::KStreamKStreamJoin<K, V, V2, VR, true>>(
            other_store, outer_store, spec, fn, key_serde, value_serde, other_value_serde);
      },
      {names.this_windowed});
  topology.AddProcessor<K, V2, K, VR>(
      names.join_other,
      [this_store = names.this_store, outer_store = names.outer_store, spec, fn, key_serde,
       value_serde, other_value_serde] {
        return std::make_unique<internal::KStreamKStreamJoin<K, V2, V, VR, false>>(
            this_store, outer_store, spec, fn, key_serde, other_value_serde, value_serde);
      },
      {names.other_windowed});
  topology.AddProcessor<K, VR, K, VR>(
      names.merge, [] { return std::make_unique<internal::KStreamPassThrough<K, VR>>(); },
      {names.join_this, names.join_other});
  builder_->AddStreamJoinStores(names,
                                windows.before_ms() + windows.after_ms() + windows.grace_ms(),
                                joined.in_memory, joined.logging, key_serde->Name(),
                                value_serde->Name(), other_value_serde->Name());
  return KStream<K, VR>(builder_, names.merge, key_serde, nullptr);
}

template <typename K, typename V>
template <internal::JoinKind kKind, typename VT, typename F>
auto KStream<K, V>::DoTableJoin(std::string_view operation, const KTable<K, VT>& table, F joiner,
                                const Joined<K, V, VT>& joined) const {
  using VR = internal::JoinerResult<kKind, K, V, VT, F>;
  static_assert(!std::is_void_v<VR>,
                "KStream::Join/LeftJoin(KTable): the joiner must be callable as (a, b) or "
                "(const K& key, a, b), with a = const V& and b = const VT& (LeftJoin: "
                "const std::optional<VT>&)");
  using Fn = internal::JoinFn<K, V, VT, VR>;
  auto fn =
      std::make_shared<const Fn>(internal::MakeJoiner<kKind, K, V, VT, VR>(std::move(joiner)));
  if (!*fn) builder_->RecordError(operation, "the joiner is empty");
  if (table.builder_ != builder_) {
    builder_->RecordError(operation,
                          "table \"" + table.node_ + "\" belongs to another StreamsBuilder");
    return KStream<K, VR>(builder_, node_, key_serde_, nullptr);
  }
  if (joined.name) builder_->CheckName(operation, "join name", *joined.name);
  internal::TableValueGetterSupplier<K, VT> getter = table.ValueGetterSupplier();
  if (!getter) builder_->RecordUnreadableTable(operation, table.node_);
  KStream<K, V> stream = *this;
  if (repartition_required_) {
    SerdePtr<K> key_serde = internal::ResolveSerde<K>(*builder_, operation, "key", joined.key_serde,
                                                      key_serde_ ? key_serde_ : table.key_serde_);
    SerdePtr<V> value_serde =
        internal::ResolveSerde<V>(*builder_, operation, "value", joined.value_serde, value_serde_);
    stream =
        RepartitionForJoin(operation, joined.name, std::move(key_serde), std::move(value_serde));
  }
  const std::string name =
      builder_->NodeName(operation, joined.name,
                         kKind == internal::JoinKind::kLeft ? internal::kStreamTableLeftJoinName
                                                            : internal::kStreamTableJoinName);
  const std::string connector = name + "-table";
  builder_->ClaimName(operation, connector);
  if (!getter) return KStream<K, VR>(builder_, name, stream.key_serde_, nullptr);
  Topology& topology = builder_->topology();
  topology.AddProcessor<K, std::optional<VT>, K, V>(
      connector, [] { return std::make_unique<internal::KTableJoinConnector<K, VT, V>>(); },
      {table.node_});
  topology.AddProcessor<K, V, K, VR>(
      name,
      [getter, fn] {
        return std::make_unique<internal::KStreamKTableJoin<K, V, VT, VR>>(
            kKind == internal::JoinKind::kLeft, getter(), fn);
      },
      {stream.node_, connector});
  return KStream<K, VR>(builder_, name, stream.key_serde_, nullptr);
}

}  // namespace eventflow::streams
