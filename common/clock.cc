#include "common/clock.h"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace knock {

int64_t SystemClock::NowMicros() const {
  // The system clock is CLOCK_REALTIME on POSIX systems.
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t MonotonicMicros() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
}

std::string FormatTimestampUs(int64_t time_us) {
  const time_t seconds = static_cast<time_t>(time_us / 1000000);
  tm utc{};
#ifdef _WIN32
  gmtime_s(&utc, &seconds);
#else
  gmtime_r(&seconds, &utc);
#endif
  char text[96];
  snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
           utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
           utc.tm_min, utc.tm_sec, static_cast<int>(time_us % 1000000));
  return text;
}

}  // namespace knock
