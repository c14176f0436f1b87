#pragma once
// Notices that the wall clock jumped (an administrator's `date -s`, NTP
// stepping instead of slewing, a resume from suspend) by comparing it with
// the monotonic clock, which never jumps.

#include <cstdint>

namespace knock {

/// Follows the offset between the wall and the monotonic clock. A change of
/// the offset beyond a tolerance between two observations is a step; slow
/// drift (NTP slewing) moves the reference along and never adds up to one.
class ClockStepDetector {
 public:
  /// How far the wall clock jumped since the previous observation, in
  /// microseconds (positive: forward); 0 for the first observation and for
  /// any change within `tolerance_us`. A step is reported once: the next
  /// observation measures from the stepped clock.
  int64_t Observe(int64_t realtime_us, int64_t monotonic_us,
                  int64_t tolerance_us);

 private:
  bool started_ = false;
  int64_t offset_us_ = 0;
};

}  // namespace knock
