// What distinguishes the kinds of windowed aggregations
// (internal/windowed_kstream_front.h), and when the windows of a joined
// windowed table close (internal/window_close.h).
#include <algorithm>
#include <string>

#include "eventflow/streams/internal/window_close.h"
#include "eventflow/streams/internal/windowed_kstream_front.h"

namespace eventflow::streams::internal {

std::chrono::milliseconds WindowKind<TimeWindows>::Retention(
    const TimeWindows& windows, std::optional<std::chrono::milliseconds> given,
    InternalStreamsBuilder& builder, std::string_view operation) {
  const std::chrono::milliseconds closes_after(windows.size_ms() + windows.grace_ms());
  const std::chrono::milliseconds retention = given.value_or(closes_after);
  if (retention < closes_after) {
    builder.RecordError(operation, "Materialized retention " + std::to_string(retention.count()) +
                                       " ms is shorter than window size + grace " +
                                       std::to_string(closes_after.count()) + " ms");
  }
  return retention;
}

std::chrono::milliseconds WindowKind<SlidingWindows>::Retention(
    const SlidingWindows& windows, std::optional<std::chrono::milliseconds>,
    InternalStreamsBuilder&, std::string_view) {
  return std::chrono::milliseconds(3 * windows.time_difference_ms() + windows.grace_ms() + 1);
}

std::chrono::milliseconds WindowKind<SessionWindows>::Retention(
    const SessionWindows& windows, std::optional<std::chrono::milliseconds>,
    InternalStreamsBuilder&, std::string_view) {
  return std::chrono::milliseconds(windows.inactivity_gap_ms() + windows.grace_ms() + 1);
}

std::shared_ptr<const WindowedTableInfo> JoinedWindowedTableInfo(
    const std::shared_ptr<const WindowedTableInfo>& left,
    const std::shared_ptr<const WindowedTableInfo>& right) {
  if (left == nullptr || right == nullptr) return nullptr;
  auto joined = std::make_shared<WindowedTableInfo>();
  joined->close_after_end_ms = std::max(left->close_after_end_ms, right->close_after_end_ms);
  joined->caches = left->caches;
  joined->caches.insert(joined->caches.end(), right->caches.begin(), right->caches.end());
  return joined;
}

}  // namespace eventflow::streams::internal
