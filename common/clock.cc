#include "common/clock.h"

#include <time.h>

namespace knock {

int64_t SystemClock::NowMicros() const {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
}

}  // namespace knock
