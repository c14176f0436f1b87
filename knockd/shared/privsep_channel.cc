#include "knockd/shared/privsep_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "knockd/shared/privsep_message.h"

namespace knock {

bool PrivsepChannel::MakePair(PrivsepChannel* a, PrivsepChannel* b,
                              std::string* err) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                 fds) != 0) {
    *err = std::string("socketpair: ") + strerror(errno);
    return false;
  }
  *a = PrivsepChannel(fds[0]);
  *b = PrivsepChannel(fds[1]);
  return true;
}

bool PrivsepChannel::Send(const std::vector<uint8_t>& message, int passed_fd,
                          std::string* err) {
  iovec iov{const_cast<uint8_t*>(message.data()), message.size()};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (passed_fd >= 0) {
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &passed_fd, sizeof(int));
  }
  // Messages are tiny and rare, so a full buffer means the peer is stuck:
  // wait a little rather than drop a grant.
  for (int attempt = 0;; ++attempt) {
    if (sendmsg(fd_.get(), &header, MSG_NOSIGNAL) ==
        static_cast<ssize_t>(message.size()))
      return true;
    if (errno == EINTR) continue;
    if (errno != EAGAIN || attempt == 100) break;
    pollfd writable{fd_.get(), POLLOUT, 0};
    poll(&writable, 1, 10);
  }
  *err = std::string("sending a ") +
         PrivsepMessageName(message.empty() ? 0 : message[0]) +
         " message: " + strerror(errno);
  return false;
}

SendResult PrivsepChannel::TrySend(const std::vector<uint8_t>& message,
                                   std::string* err) {
  for (;;) {
    if (send(fd_.get(), message.data(), message.size(),
             MSG_NOSIGNAL | MSG_DONTWAIT) ==
        static_cast<ssize_t>(message.size()))
      return SendResult::kSent;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return SendResult::kFull;
    *err = std::string("sending a ") +
           PrivsepMessageName(message.empty() ? 0 : message[0]) +
           " message: " + strerror(errno);
    return SendResult::kError;
  }
}

ReceiveResult PrivsepChannel::Receive(std::vector<uint8_t>* message,
                                      int* passed_fd, std::string* err) {
  message->resize(kMaxPrivsepMessageBytes + 1);
  iovec iov{message->data(), message->size()};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (passed_fd) {
    *passed_fd = -1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
  }
  const ssize_t got = recvmsg(fd_.get(), &header, MSG_TRUNC | MSG_CMSG_CLOEXEC);
  if (got < 0) {
    if (errno == EAGAIN || errno == EINTR) return ReceiveResult::kNone;
    if (errno == ECONNRESET) return ReceiveResult::kClosed;
    *err = std::string("receiving: ") + strerror(errno);
    return ReceiveResult::kError;
  }
  if (got == 0) return ReceiveResult::kClosed;
  message->resize(static_cast<size_t>(got));
  if (passed_fd) {
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg;
         cmsg = CMSG_NXTHDR(&header, cmsg)) {
      if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
        memcpy(passed_fd, CMSG_DATA(cmsg), sizeof(int));
    }
  }
  return ReceiveResult::kMessage;
}

bool PrivsepChannel::WaitReadable(int timeout_ms) const {
  pollfd readable{fd_.get(), POLLIN, 0};
  return poll(&readable, 1, timeout_ms) > 0;
}

}  // namespace knock
