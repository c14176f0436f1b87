#include "knock/lib/port_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace knock {

namespace {

int64_t MonotonicMs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1000000;
}

void SleepMs(int64_t ms) {
  if (ms <= 0) return;
  timespec rest{static_cast<time_t>(ms / 1000),
                static_cast<long>((ms % 1000) * 1000000)};
  while (nanosleep(&rest, &rest) != 0 && errno == EINTR) {
  }
}

// Waits for the non-blocking connect on `fd` to finish; 0 or an errno value.
int FinishConnect(int fd, int64_t timeout_ms) {
  const int64_t deadline_ms = MonotonicMs() + timeout_ms;
  for (;;) {
    pollfd entry{fd, POLLOUT, 0};
    const int64_t left_ms = std::max<int64_t>(0, deadline_ms - MonotonicMs());
    int rc = poll(&entry, 1, static_cast<int>(left_ms));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return errno;
    if (rc == 0) return ETIMEDOUT;
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    return error;
  }
}

}  // namespace

int ConnectWithTimeout(const ResolvedAddress& address, int64_t timeout_ms,
                       int* error) {
  int fd =
      socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = errno;
    return -1;
  }
  int rc = connect(fd, reinterpret_cast<const sockaddr*>(&address.storage),
                   address.length);
  *error = rc == 0 ? 0 : errno;
  if (*error == EINPROGRESS) *error = FinishConnect(fd, timeout_ms);
  if (*error != 0) {
    // An attempt that timed out must not linger and retransmit its SYN.
    linger no_linger{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

WaitResult WaitForPort(const ResolvedAddress& address, const WaitPlan& plan) {
  WaitResult result;
  const int64_t start_ms = MonotonicMs();
  bool halfway_done = false;
  int64_t attempt_ms = std::min(plan.first_attempt_ms, plan.attempt_ms);
  for (;;) {
    const int64_t attempt_start_ms = MonotonicMs();
    const int64_t left_ms = plan.timeout_ms - (attempt_start_ms - start_ms);
    if (left_ms <= 0) break;
    if (!halfway_done && 2 * (attempt_start_ms - start_ms) >= plan.timeout_ms) {
      halfway_done = true;
      if (plan.at_halfway) plan.at_halfway();
    }
    int error = 0;
    ++result.attempts;
    result.fd =
        ConnectWithTimeout(address, std::min(attempt_ms, left_ms), &error);
    if (result.fd >= 0) {
      result.open = true;
      break;
    }
    SleepMs(std::min(attempt_start_ms + attempt_ms - MonotonicMs(),
                     plan.timeout_ms - (MonotonicMs() - start_ms)));
    attempt_ms = std::min(attempt_ms * 2, plan.attempt_ms);
  }
  result.elapsed_ms = MonotonicMs() - start_ms;
  return result;
}

}  // namespace knock
