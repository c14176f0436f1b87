#pragma once
// Waiting for a knocked-open port: connect() attempts, each bounded in time,
// until one succeeds or the overall timeout passes (knock --wait, proxy).

#include <cstdint>
#include <functional>
#include <string>

#include "knock/lib/knock_sender.h"

namespace knock {

/// How --wait probes: the overall budget, each attempt's budget (starting
/// at `first_attempt_ms` and doubling up to `attempt_ms`), and what to do
/// once, halfway, if the port is still closed (knock again).
struct WaitPlan {
  int64_t timeout_ms = 10000;
  /// Short first attempts: the hole usually opens about a millisecond after
  /// the last knock, and a SYN that arrived just before it is dropped, not
  /// answered, so only a fresh attempt sees the port open.
  int64_t first_attempt_ms = 5;
  int64_t attempt_ms = 250;
  std::function<void()> at_halfway;
};

/// The outcome of waiting: open (with the connected socket), or not.
struct WaitResult {
  bool open = false;
  int fd = -1;  // the connected socket when open; the caller closes it
  int64_t elapsed_ms = 0;
  int attempts = 0;
};

/// One connect() to `address` bounded by `timeout_ms`: the connected
/// (blocking) socket, or -1 with `*error` set to an errno value.
int ConnectWithTimeout(const ResolvedAddress& address, int64_t timeout_ms,
                       int* error);

/// Tries to connect to `address` (port included) until it succeeds or
/// `plan.timeout_ms` passes. Attempts start at most as often as their
/// budget, so a port that refuses at once is not hammered.
WaitResult WaitForPort(const ResolvedAddress& address, const WaitPlan& plan);

}  // namespace knock
