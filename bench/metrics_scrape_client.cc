// eventflow-bench-scrape: GETs a path (/metrics) at a fixed rate for a fixed
// time, one request per connection (as Prometheus' scrapes are here), and
// prints what it saw. The scraper of bench/metrics_scrape: light enough (a
// few tens of microseconds of CPU per request) that what the measurement
// sees is the application serving the scrapes.
//
// Output, one line:
//   scrapes=N failed=F bytes_per_scrape=B latency_ms_p50=X latency_ms_p99=Y cpu_s=C
//
// Usage: eventflow-bench-scrape --port P [--host 127.0.0.1] [--path /metrics]
//          [--rate 100] [--seconds 60]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "eventflow/http/client.h"

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::string path = "/metrics";
  int port = 0;
  double rate = 100;
  double seconds = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--port") {
      port = std::atoi(value.c_str());
    } else if (flag == "--host") {
      host = value;
    } else if (flag == "--path") {
      path = value;
    } else if (flag == "--rate") {
      rate = std::atof(value.c_str());
    } else if (flag == "--seconds") {
      seconds = std::atof(value.c_str());
    } else {
      std::fprintf(stderr, "eventflow-bench-scrape: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (port <= 0 || rate <= 0 || seconds <= 0) {
    std::fprintf(stderr,
                 "usage: eventflow-bench-scrape --port P [--host H] [--path /metrics] "
                 "[--rate 100] [--seconds 60]\n");
    return 2;
  }
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / rate));
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<double> latencies_ms;
  size_t failed = 0;
  size_t bytes = 0;
  eventflow::http::FetchOptions options;
  options.timeout = std::chrono::seconds(2);
  auto next = start;
  while (next < end) {
    std::this_thread::sleep_until(next);
    const auto t0 = Clock::now();
    auto r = eventflow::http::Fetch(host, port, path, options);
    const auto t1 = Clock::now();
    if (r.ok() && r->status == 200) {
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      bytes += r->body.size();
    } else {
      ++failed;
    }
    next += period;
    if (next < t1) next = t1;  // never bursts to catch up
  }
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const double cpu = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(latencies_ms.size() - 1,
                                 static_cast<size_t>(p * double(latencies_ms.size())))];
  };
  std::printf("scrapes=%zu failed=%zu bytes_per_scrape=%zu latency_ms_p50=%.3f latency_ms_p99=%.3f "
              "cpu_s=%.2f\n",
              latencies_ms.size(), failed, latencies_ms.empty() ? 0 : bytes / latencies_ms.size(),
              pct(0.5), pct(0.99), cpu);
  return failed == 0 ? 0 : 1;
}
