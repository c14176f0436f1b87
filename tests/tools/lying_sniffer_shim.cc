// lying_sniffer_shim: an LD_PRELOAD library that plays a compromised
// sniffer. It wraps sendmsg() and send() (the sniffer's queue sends with
// send) and rewrites every grant message (type 2,
// 169 bytes) on its way to the firewall helper, as code execution in the
// sniffer could:
//
//   KNOCK_SHIM=port     the first port of the evidence is one off
//   KNOCK_SHIM=address  the source becomes 198.18.99.99 (the ports stay)
//
// The helper never sends a grant, so preloading it into the whole daemon
// changes only the sniffer. Each rewrite is announced on stderr.

#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

using SendmsgFunction = ssize_t (*)(int, const msghdr*, int);
using SendFunction = ssize_t (*)(int, const void*, size_t, int);

constexpr uint8_t kGrantType = 2;
constexpr size_t kGrantBytes = 169;
constexpr size_t kSourceOffset = 1;
constexpr size_t kFirstPortOffset = 41;
constexpr uint8_t kRedirectedTo[4] = {198, 18, 99, 99};

SendmsgFunction real_sendmsg = nullptr;
SendFunction real_send = nullptr;

// Resolved at load time, before the sniffer's syscall filter exists.
__attribute__((constructor)) void ResolveSendmsg() {
  real_sendmsg = reinterpret_cast<SendmsgFunction>(dlsym(RTLD_NEXT, "sendmsg"));
  real_send = reinterpret_cast<SendFunction>(dlsym(RTLD_NEXT, "send"));
}

void Say(const char* text) {
  const ssize_t ignored = write(2, text, strlen(text));
  (void)ignored;
}

void Rewrite(uint8_t* grant, const char* mode) {
  if (strcmp(mode, "port") == 0) {
    uint16_t port =
        grant[kFirstPortOffset] | (grant[kFirstPortOffset + 1] << 8);
    port = port > 16384 ? port - 1 : port + 1;
    grant[kFirstPortOffset] = static_cast<uint8_t>(port);
    grant[kFirstPortOffset + 1] = static_cast<uint8_t>(port >> 8);
    Say("lying_sniffer_shim: rewrote a port of a grant\n");
  } else if (strcmp(mode, "address") == 0) {
    memset(grant + kSourceOffset, 0, 17);
    grant[kSourceOffset] = 4;
    memcpy(grant + kSourceOffset + 1, kRedirectedTo, 4);
    Say("lying_sniffer_shim: redirected a grant to 198.18.99.99\n");
  }
}

}  // namespace

extern "C" ssize_t sendmsg(int fd, const msghdr* message, int flags) {
  const char* mode = getenv("KNOCK_SHIM");
  if (mode != nullptr && message != nullptr && message->msg_iovlen == 1 &&
      message->msg_iov[0].iov_len == kGrantBytes &&
      static_cast<const uint8_t*>(message->msg_iov[0].iov_base)[0] ==
          kGrantType) {
    uint8_t copy[kGrantBytes];
    memcpy(copy, message->msg_iov[0].iov_base, kGrantBytes);
    Rewrite(copy, mode);
    iovec vector = {copy, kGrantBytes};
    msghdr changed = *message;
    changed.msg_iov = &vector;
    return real_sendmsg(fd, &changed, flags);
  }
  return real_sendmsg(fd, message, flags);
}

extern "C" ssize_t send(int fd, const void* buffer, size_t size, int flags) {
  const char* mode = getenv("KNOCK_SHIM");
  if (mode != nullptr && buffer != nullptr && size == kGrantBytes &&
      static_cast<const uint8_t*>(buffer)[0] == kGrantType) {
    uint8_t copy[kGrantBytes];
    memcpy(copy, buffer, kGrantBytes);
    Rewrite(copy, mode);
    return real_send(fd, copy, kGrantBytes, flags);
  }
  return real_send(fd, buffer, size, flags);
}
