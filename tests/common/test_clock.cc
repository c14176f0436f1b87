// The clocks: wall time for records, monotonic time for intervals.
#include <time.h>

#include <catch2/catch.hpp>

#include "common/clock.h"

TEST_CASE("The monotonic clock is CLOCK_MONOTONIC and never goes back") {
  timespec before{};
  clock_gettime(CLOCK_MONOTONIC, &before);
  const int64_t first_us = knock::MonotonicMicros();
  const int64_t second_us = knock::MonotonicMicros();
  timespec after{};
  clock_gettime(CLOCK_MONOTONIC, &after);
  const int64_t before_us =
      int64_t{before.tv_sec} * 1000000 + before.tv_nsec / 1000;
  const int64_t after_us =
      int64_t{after.tv_sec} * 1000000 + after.tv_nsec / 1000;
  CHECK(before_us <= first_us);
  CHECK(first_us <= second_us);
  CHECK(second_us <= after_us);
  CHECK(knock::MonotonicMillis() >= first_us / 1000);
}

TEST_CASE("Timestamps are UTC with microseconds") {
  CHECK(knock::FormatTimestampUs(1795978659123456) ==
        "2026-11-29T18:57:39.123456Z");
}
