#include "knockd/sniffer/clock_step_timer.h"

#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace knock {

namespace {

// Far enough that the timer never expires in a daemon's life; it exists only
// to be cancelled.
constexpr time_t kArmAheadSeconds = time_t{100} * 365 * 24 * 3600;

}  // namespace

ClockStepTimer::~ClockStepTimer() {
  if (fd_ >= 0) close(fd_);
}

bool ClockStepTimer::Open(std::string* err) {
  fd_ = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd_ < 0) {
    *err = std::string("timerfd_create: ") + strerror(errno);
    return false;
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  itimerspec at{};
  at.it_value.tv_sec = now.tv_sec + kArmAheadSeconds;
  if (timerfd_settime(fd_, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &at,
                      nullptr) != 0) {
    *err = std::string("timerfd_settime: ") + strerror(errno);
    close(fd_);
    fd_ = -1;
    return false;
  }
  return true;
}

bool ClockStepTimer::TakeStep() {
  uint64_t expirations = 0;
  return fd_ >= 0 && read(fd_, &expirations, sizeof expirations) < 0 &&
         errno == ECANCELED;
}

}  // namespace knock
