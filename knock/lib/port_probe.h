#pragma once
// Waiting for a knocked-open port: SYN probes (connect() attempts) until one
// is answered or the overall timeout passes (knock --wait, proxy).

#include <cstdint>
#include <functional>
#include <string>

#include "knock/lib/knock_sender.h"
#include "knock/lib/socket_portable.h"

namespace knock {

/// How --wait probes: the overall budget; when attempts start (the first at
/// once, then `fast_attempts` more `first_attempt_ms` apart, then at
/// doubling intervals up to `attempt_ms`); how long each may wait for its
/// answer (`attempt_ms`, so that attempts overlap: an answer that takes a
/// long round trip still counts); and what to do once, halfway, if the port
/// is still closed (knock again).
struct WaitPlan {
  int64_t timeout_ms = 10000;
  /// Short intervals first: the hole usually opens a millisecond or two
  /// after the last knock, and a SYN that arrived just before it is dropped,
  /// not answered, so only a fresh SYN sees the port open. A SYN is ~60
  /// bytes; ten of them in 10 ms cost nothing.
  int64_t first_attempt_ms = 1;
  int fast_attempts = 10;
  int64_t attempt_ms = 250;
  std::function<void()> at_halfway;
};

/// The outcome of waiting: open (with the connected socket), or not.
struct WaitResult {
  bool open = false;
  SocketHandle fd = kNoSocket;  // the connected socket when open; the
                                // caller closes it
  int64_t elapsed_ms = 0;
  int attempts = 0;
};

/// One connect() to `address` bounded by `timeout_ms`: the connected
/// (blocking) socket, or kNoSocket with `*error` set.
SocketHandle ConnectWithTimeout(const ResolvedAddress& address,
                                int64_t timeout_ms, int* error);

/// Tries to connect to `address` (port included) until it succeeds or
/// `plan.timeout_ms` passes. Attempts start at most as often as the plan
/// says, so a port that refuses at once is not hammered.
WaitResult WaitForPort(const ResolvedAddress& address, const WaitPlan& plan);

}  // namespace knock
