#pragma once
// The seam to time, so that window rolls and expiries are tested with a
// fake clock.

#include <cstdint>
#include <string>

namespace knock {

/// Wall-clock time in microseconds since the Unix epoch.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMicros() const = 0;
};

/// The system's real-time clock.
class SystemClock : public Clock {
 public:
  int64_t NowMicros() const override;
};

/// Microseconds on CLOCK_MONOTONIC: for timeouts and intervals, which a
/// change of the wall clock must not stretch or cut, and for systemd's
/// MONOTONIC_USEC, which is defined on that clock.
int64_t MonotonicMicros();

/// Milliseconds on the same clock.
inline int64_t MonotonicMillis() { return MonotonicMicros() / 1000; }

/// "2026-11-29T18:57:39.123456Z" for microseconds since the epoch.
std::string FormatTimestampUs(int64_t time_us);

}  // namespace knock
