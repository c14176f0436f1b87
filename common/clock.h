#pragma once
// The seam to time, so that window rolls and expiries are tested with a
// fake clock.

#include <cstdint>

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

}  // namespace knock
