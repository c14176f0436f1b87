#include "knockd/sniffer/clock_step_detector.h"

namespace knock {

int64_t ClockStepDetector::Observe(int64_t realtime_us, int64_t monotonic_us,
                                   int64_t tolerance_us) {
  const int64_t offset_us = realtime_us - monotonic_us;
  const int64_t jump_us = offset_us - offset_us_;
  const bool first = !started_;
  started_ = true;
  offset_us_ = offset_us;
  if (first) return 0;
  const int64_t size_us = jump_us < 0 ? -jump_us : jump_us;
  return size_us > tolerance_us ? jump_us : 0;
}

}  // namespace knock
