// FUZZ_CHECK: the one way the fuzz targets assert a property. A failed check
// prints what was expected and aborts, which libFuzzer reports as a crash and
// saves the input as an artifact (crash-<sha1>) for replay:
//   build-fuzz/bin/<target>_fuzz <artifact>
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace eventflow::fuzz {

//! Prints the failed property and the detail (e.g. the input or a Status) and aborts.
[[noreturn]] inline void CheckFailed(const char* file, int line, const char* condition,
                                     std::string_view detail) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %.*s\n", file, line, condition,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace eventflow::fuzz

//! Aborts with `detail` (anything convertible to std::string_view) unless `condition` holds.
#define FUZZ_CHECK(condition, detail)                                                           \
  do {                                                                                          \
    if (!(condition)) ::eventflow::fuzz::CheckFailed(__FILE__, __LINE__, #condition, (detail)); \
  } while (false)
