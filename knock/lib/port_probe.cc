#include "knock/lib/port_probe.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace knock {

namespace {

int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// One connect() under way: its socket and when it gives up.
struct Attempt {
  SocketHandle socket = kNoSocket;
  int64_t deadline_ms = 0;
};

/// The attempts under way; the first to connect wins, the rest are dropped
/// without another packet.
class Attempts {
 public:
  ~Attempts() {
    for (const Attempt& a : list_) AbortSocket(a.socket);
  }

  // Starts one; returns the socket if it connected at once.
  SocketHandle Start(const ResolvedAddress& address, int64_t deadline_ms) {
    int error = 0;
    SocketHandle s =
        OpenNonBlockingSocket(address.family(), SOCK_STREAM, 0, &error);
    if (s == kNoSocket) return kNoSocket;
    error = StartConnect(s, reinterpret_cast<const sockaddr*>(&address.storage),
                         address.length);
    if (error == 0) return s;
    if (IsConnectPending(error))
      list_.push_back({s, deadline_ms});
    else
      AbortSocket(s);  // refused at once: the port is closed for now
    return kNoSocket;
  }

  // Waits until `until_ms` or an attempt's end; the connected socket, if any.
  SocketHandle Wait(int64_t until_ms) {
    Expire();
    const int64_t now_ms = MonotonicMs();
    if (list_.empty()) {
      Sleep(until_ms - now_ms);
      return kNoSocket;
    }
    std::vector<SocketHandle> sockets;
    for (const Attempt& a : list_) sockets.push_back(a.socket);
    const std::vector<size_t> ready =
        WaitForConnects(sockets, std::max<int64_t>(0, until_ms - now_ms));
    SocketHandle connected = kNoSocket;
    for (size_t i : ready) {
      if (connected == kNoSocket && ConnectOutcome(sockets[i]) == 0)
        connected = sockets[i];
      else
        AbortSocket(sockets[i]);
    }
    std::erase_if(list_, [&ready, &sockets](const Attempt& a) {
      for (size_t i : ready)
        if (sockets[i] == a.socket) return true;
      return false;
    });
    return connected;
  }

 private:
  static void Sleep(int64_t ms) {
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  void Expire() {
    const int64_t now_ms = MonotonicMs();
    std::erase_if(list_, [now_ms](const Attempt& a) {
      if (a.deadline_ms > now_ms) return false;
      AbortSocket(a.socket);
      return true;
    });
  }

  std::vector<Attempt> list_;
};

}  // namespace

SocketHandle ConnectWithTimeout(const ResolvedAddress& address,
                                int64_t timeout_ms, int* error) {
  SocketHandle s =
      OpenNonBlockingSocket(address.family(), SOCK_STREAM, 0, error);
  if (s == kNoSocket) return kNoSocket;
  *error = StartConnect(s, reinterpret_cast<const sockaddr*>(&address.storage),
                        address.length);
  if (IsConnectPending(*error)) {
    const std::vector<size_t> ready = WaitForConnects({s}, timeout_ms);
    *error = ready.empty() ? SocketTimedOutError() : ConnectOutcome(s);
  }
  if (*error != 0) {
    // An attempt that timed out must not linger and retransmit its SYN.
    AbortSocket(s);
    return kNoSocket;
  }
  SetBlocking(s, true);
  return s;
}

WaitResult WaitForPort(const ResolvedAddress& address, const WaitPlan& plan) {
  WaitResult result;
  const int64_t start_ms = MonotonicMs();
  const int64_t end_ms = start_ms + plan.timeout_ms;
  bool halfway_done = false;
  int64_t interval_ms = std::min(plan.first_attempt_ms, plan.attempt_ms);
  int64_t next_start_ms = start_ms;
  Attempts attempts;
  while (MonotonicMs() < end_ms) {
    const int64_t now_ms = MonotonicMs();
    if (!halfway_done && 2 * (now_ms - start_ms) >= plan.timeout_ms) {
      halfway_done = true;
      if (plan.at_halfway) plan.at_halfway();
    }
    if (now_ms >= next_start_ms) {
      ++result.attempts;
      result.fd =
          attempts.Start(address, std::min(now_ms + plan.attempt_ms, end_ms));
      if (result.fd != kNoSocket) break;
      if (result.attempts > plan.fast_attempts)
        interval_ms = std::min(interval_ms * 2, plan.attempt_ms);
      next_start_ms = now_ms + interval_ms;
    }
    const int64_t halfway_ms = start_ms + (plan.timeout_ms + 1) / 2;
    int64_t until_ms = std::min(next_start_ms, end_ms);
    if (!halfway_done) until_ms = std::min(until_ms, halfway_ms);
    result.fd = attempts.Wait(until_ms);
    if (result.fd != kNoSocket) break;
  }
  if (result.fd != kNoSocket) {
    result.open = true;
    SetBlocking(result.fd, true);
  }
  result.elapsed_ms = MonotonicMs() - start_ms;
  return result;
}

}  // namespace knock
