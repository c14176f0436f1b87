#pragma once
// A descriptor that becomes readable the moment the wall clock is set, so
// that the sniffer rebuilds its windows at once rather than at its next
// timer tick.

#include <string>

namespace knock {

/// A timerfd on CLOCK_REALTIME armed far in the future with
/// TFD_TIMER_CANCEL_ON_SET: the kernel cancels it, and read() fails with
/// ECANCELED, whenever the clock is set discontinuously. The timer stays
/// armed after that, so waiting for the next step needs no further call
/// (the sniffer's syscall filter allows none).
class ClockStepTimer {
 public:
  ClockStepTimer() = default;
  ~ClockStepTimer();
  ClockStepTimer(const ClockStepTimer&) = delete;
  ClockStepTimer& operator=(const ClockStepTimer&) = delete;

  /// Creates and arms the timer (non-blocking, close-on-exec).
  bool Open(std::string* err);
  /// -1 until Open succeeded.
  int fd() const { return fd_; }
  /// Reads the descriptor once it polled readable: true if the clock was
  /// set since the last call.
  bool TakeStep();

 private:
  int fd_ = -1;
};

}  // namespace knock
