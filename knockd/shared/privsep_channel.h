#pragma once
// One end of the socketpair between knockd's sniffer and its firewall
// helper: AF_UNIX SOCK_SEQPACKET, so that every send is one whole message
// and a message can never be split or merged with the next.

#include <cstdint>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace knock {

/// What one non-blocking send did.
enum class SendResult {
  kSent,   // the whole message is on its way
  kFull,   // the channel has no room now; nothing was sent
  kError,  // see the error text
};

/// What one receive found.
enum class ReceiveResult {
  kMessage,  // one message is in the buffer
  kNone,     // nothing to read now
  kClosed,   // the other process closed its end (or died)
  kError,    // see the error text
};

/// One end of the pair; closes its descriptor when destroyed.
class PrivsepChannel {
 public:
  PrivsepChannel() = default;
  explicit PrivsepChannel(int fd) : fd_(fd) {}
  PrivsepChannel(PrivsepChannel&& other) noexcept = default;
  PrivsepChannel& operator=(PrivsepChannel&& other) noexcept = default;

  /// A connected, non-blocking, close-on-exec pair.
  static bool MakePair(PrivsepChannel* a, PrivsepChannel* b, std::string* err);

  int fd() const { return fd_.get(); }
  void Close() { fd_.Reset(); }
  /// Sends one message, with `passed_fd` attached when it is not -1.
  bool Send(const std::vector<uint8_t>& message, int passed_fd,
            std::string* err);
  /// Sends one message if the channel has room now; never waits.
  SendResult TrySend(const std::vector<uint8_t>& message, std::string* err);
  /// Receives one message. A message longer than the buffer keeps its real
  /// length in `message->size()` (its tail unread) so that a size check
  /// refuses it. With `passed_fd` null, a descriptor sent along is closed by
  /// the kernel; otherwise it lands there (-1 if none).
  ReceiveResult Receive(std::vector<uint8_t>* message, int* passed_fd,
                        std::string* err);
  /// Waits up to `timeout_ms` for the channel to become readable.
  bool WaitReadable(int timeout_ms) const;

 private:
  UniqueFd fd_;
};

}  // namespace knock
