// Micro-benchmark of the event codec (eventflow/core/event_codec.h), per record,
// over one mixed batch of records shaped like eventflow-produce's output:
//
//   BM_SimdjsonFloor   simdjson on-demand visiting every field of the object and
//                      reading each value as its raw token, after the same padded
//                      copy the decoder makes (Kafka payloads are not padded): the
//                      floor for any decoder that validates the whole record.
//   BM_Decode          EventDecoder::Decode (one decoder, reused).
//   BM_Encode          AppendJson of the decoded events into one reused buffer.
//
// Counters: items_per_second (records per CPU second), per_record (CPU time per
// record, e.g. "95.2ns"; seconds in --benchmark_format=json) and allocs_per_record
// (calls of operator new; the framework's few of its own show as ~1e-7). The
// numbers are for reading; nothing asserts on them.
//
// Run: build/bin/eventflow-bench-codec --benchmark_repetitions=3
//          --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventflow/core/event.h"
#include "eventflow/core/event_codec.h"

namespace {

std::atomic<int64_t> g_allocations{0};

void* CountedAlloc(size_t size) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}

}  // namespace

// Every non-aligned form is replaced, not only the two the C++ library's others
// forward to: sanitizer runtimes define the others themselves, and a pair from
// two allocators would mismatch. Not inlined: GCC would take a call to these for
// a new-expression and warn about free() (-Wmismatched-new-delete).
[[gnu::noinline]] void* operator new(size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return CountedAlloc(size);
}
[[gnu::noinline]] void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return CountedAlloc(size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace eventflow {
namespace {

constexpr size_t kBatchSize = 10'000;

// The generator's mix: 60% VIEW, 15% ORDER, 12% LOGIN, 10% LOGOUT, 3% SIGNUP;
// 1000 users, 200 products, events 100 ms apart (so most timestamps carry
// milliseconds), prices in whole units minus one cent.
std::vector<std::string> MakeBatch() {
  constexpr const char* kCountries[] = {"US", "CA", "DE", "FR", "ES", "IT", "NL", "GB", "JP", "IN"};
  constexpr const char* kDevices[] = {"mobile", "desktop", "tablet"};
  constexpr const char* kCategories[] = {"electronics", "clothing", "books",
                                         "home",        "sports",   "toys"};
  constexpr const char* kCurrencies[] = {"USD", "EUR", "GBP", "JPY", "INR"};

  std::mt19937_64 rng(42);
  const auto uniform = [&rng](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::vector<std::string> batch;
  batch.reserve(kBatchSize);
  char timestamp[32];
  char record[512];
  int orders = 0;
  for (size_t i = 0; i < kBatchSize; ++i) {
    // 2025-11-30T11:15:32Z plus i * 100 ms.
    const int64_t ms = 40'532'000 + static_cast<int64_t>(i) * 100;
    const int64_t s = ms / 1000;
    const int fraction = static_cast<int>(ms % 1000);
    int n = std::snprintf(timestamp, sizeof(timestamp), "2025-11-30T%02d:%02d:%02d",
                          static_cast<int>(s / 3600 % 24), static_cast<int>(s / 60 % 60),
                          static_cast<int>(s % 60));
    if (fraction != 0) {
      n += std::snprintf(timestamp + n, sizeof(timestamp) - static_cast<size_t>(n), ".%03d",
                         fraction);
    }
    std::snprintf(timestamp + n, sizeof(timestamp) - static_cast<size_t>(n), "Z");

    const int user = 1 + uniform(1000);
    const int product = 1 + uniform(200);
    const int kind = uniform(100);
    if (kind < 60) {
      std::snprintf(record, sizeof(record),
                    R"({"eventType":"VIEW","userId":"u%d","productId":"p%d","category":"%s",)"
                    R"("timestamp":"%s"})",
                    user, product, kCategories[uniform(6)], timestamp);
    } else if (kind < 75) {
      std::snprintf(record, sizeof(record),
                    R"({"eventType":"ORDER","orderId":"o0000002a-%d","userId":"u%d",)"
                    R"("productId":"p%d","price":%d.99,"currency":"%s","timestamp":"%s"})",
                    ++orders, user, product, 4 + uniform(1500), kCurrencies[uniform(5)], timestamp);
    } else {
      const char* type = kind < 87 ? "LOGIN" : kind < 97 ? "LOGOUT" : "SIGNUP";
      std::snprintf(record, sizeof(record),
                    R"({"eventType":"%s","userId":"u%d","country":"%s","device":"%s",)"
                    R"("timestamp":"%s"})",
                    type, user, kCountries[uniform(10)], kDevices[uniform(3)], timestamp);
    }
    batch.emplace_back(record);
  }
  return batch;
}

const std::vector<std::string>& Batch() {
  static const std::vector<std::string> batch = MakeBatch();
  return batch;
}

// Checks once that every record decodes and re-encodes to itself, so the batch is
// exactly what the encoder (and so the generator) writes.
bool BatchRoundTrips(std::string* why) {
  EventDecoder decoder;
  std::string encoded;
  for (const std::string& json : Batch()) {
    Result<Event> event = decoder.Decode(json);
    if (!event.ok()) {
      *why = json + ": " + event.status().ToString();
      return false;
    }
    encoded.clear();
    AppendJson(*event, &encoded);
    if (encoded != json) {
      *why = "re-encoded as " + encoded + ", not " + json;
      return false;
    }
  }
  return true;
}

void SetCounters(benchmark::State& state, int64_t allocations_before) {
  const auto records = static_cast<double>(state.iterations() * kBatchSize);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatchSize));
  state.counters["per_record"] = benchmark::Counter(
      static_cast<double>(kBatchSize),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["allocs_per_record"] =
      static_cast<double>(g_allocations.load(std::memory_order_relaxed) - allocations_before) /
      records;
}

bool CheckBatch(benchmark::State& state) {
  static std::string why;
  static const bool ok = BatchRoundTrips(&why);
  if (!ok) state.SkipWithError(why.c_str());
  return ok;
}

void BM_SimdjsonFloor(benchmark::State& state) {
  if (!CheckBatch(state)) return;
  const std::vector<std::string>& batch = Batch();
  size_t capacity = 0;
  for (const std::string& json : batch) capacity = std::max(capacity, json.size());
  simdjson::ondemand::parser parser;
  if (parser.allocate(capacity) != simdjson::SUCCESS) {
    state.SkipWithError("simdjson parser allocation failed");
    return;
  }
  auto buffer = std::make_unique<char[]>(capacity + simdjson::SIMDJSON_PADDING);
  bool failed = false;
  const int64_t allocations_before = g_allocations.load(std::memory_order_relaxed);
  for (auto _ : state) {
    for (const std::string& json : batch) {
      std::memcpy(buffer.get(), json.data(), json.size());
      std::memset(buffer.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
      simdjson::ondemand::document doc;
      simdjson::ondemand::object object;
      if (parser.iterate(buffer.get(), json.size(), json.size() + simdjson::SIMDJSON_PADDING)
                  .get(doc) != simdjson::SUCCESS ||
          doc.get_object().get(object) != simdjson::SUCCESS) {
        failed = true;
        break;
      }
      size_t token_bytes = 0;
      for (auto field : object) {
        simdjson::ondemand::raw_json_string key;
        simdjson::ondemand::value value;
        if (field.key().get(key) != simdjson::SUCCESS ||
            field.value().get(value) != simdjson::SUCCESS) {
          failed = true;
          break;
        }
        benchmark::DoNotOptimize(key.raw());
        token_bytes += value.raw_json_token().size();
      }
      // Nothing may follow the object (current_location() fails at the end).
      const char* trailing = nullptr;
      if (failed || doc.current_location().get(trailing) == simdjson::SUCCESS) {
        failed = true;
        break;
      }
      benchmark::DoNotOptimize(token_bytes);
    }
    if (failed) break;
  }
  if (failed) {
    state.SkipWithError("simdjson rejected a record");
    return;
  }
  SetCounters(state, allocations_before);
}
BENCHMARK(BM_SimdjsonFloor);

void BM_Decode(benchmark::State& state) {
  if (!CheckBatch(state)) return;
  const std::vector<std::string>& batch = Batch();
  EventDecoder decoder;
  for (const std::string& json : batch) benchmark::DoNotOptimize(decoder.Decode(json));  // warm
  const int64_t allocations_before = g_allocations.load(std::memory_order_relaxed);
  for (auto _ : state) {
    for (const std::string& json : batch) {
      Result<Event> event = decoder.Decode(json);
      benchmark::DoNotOptimize(event);
    }
  }
  SetCounters(state, allocations_before);
}
BENCHMARK(BM_Decode);

void BM_Encode(benchmark::State& state) {
  if (!CheckBatch(state)) return;
  std::vector<Event> events;
  events.reserve(kBatchSize);
  EventDecoder decoder;
  for (const std::string& json : Batch()) events.push_back(decoder.Decode(json).value());
  std::string buffer;
  buffer.reserve(512);
  const int64_t allocations_before = g_allocations.load(std::memory_order_relaxed);
  for (auto _ : state) {
    for (const Event& event : events) {
      buffer.clear();
      AppendJson(event, &buffer);
      benchmark::DoNotOptimize(buffer.data());
    }
    benchmark::ClobberMemory();
  }
  SetCounters(state, allocations_before);
}
BENCHMARK(BM_Encode);

}  // namespace
}  // namespace eventflow

BENCHMARK_MAIN();
