#include "knockd/helper/ruleset_monitor.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace knock {

namespace {

// Room for the notifications of thousands of grants between two reads;
// an overrun is survived anyway (a restore).
constexpr int kReceiveBufferBytes = 8 << 20;
// Larger than any single notification datagram the kernel sends.
constexpr size_t kDatagramBytes = 64 * 1024;
// A burst is read in bounded rounds so that a flood of notifications cannot
// hold the helper in this loop.
constexpr int kMaxDatagramsPerRead = 1024;

}  // namespace

RulesetMonitor::~RulesetMonitor() {
  if (fd_ >= 0) close(fd_);
}

bool RulesetMonitor::Open(std::string* err) {
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
               NETLINK_NETFILTER);
  if (fd_ < 0) {
    *err = std::string("nftables monitor: socket: ") + strerror(errno);
    return false;
  }
  // Every grant is a few notifications, and a burst of grants is handled
  // before the next read: a large buffer keeps such bursts from overrunning
  // (an overrun costs a restore). FORCE passes net.core.rmem_max with
  // CAP_NET_ADMIN; without it the capped size is still better than none.
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBufferBytes,
                 sizeof kReceiveBufferBytes) != 0)
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes,
               sizeof kReceiveBufferBytes);
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  const int group = NFNLGRP_NFTABLES;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      setsockopt(fd_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
                 sizeof group) != 0) {
    *err =
        std::string("nftables monitor: cannot subscribe: ") + strerror(errno);
    close(fd_);
    fd_ = -1;
    return false;
  }
  return true;
}

bool RulesetMonitor::Read(std::vector<NftablesEvent>* events, bool* overran,
                          std::string* err) {
  std::vector<uint8_t> buffer(kDatagramBytes);
  for (int round = 0; round < kMaxDatagramsPerRead; ++round) {
    const ssize_t got = recv(fd_, buffer.data(), buffer.size(), MSG_TRUNC);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      // The kernel dropped notifications for want of buffer space.
      if (errno == ENOBUFS) {
        *overran = true;
        continue;
      }
      *err = std::string("nftables monitor: recv: ") + strerror(errno);
      return false;
    }
    const size_t size = static_cast<size_t>(got);
    if (size > buffer.size() ||
        !ParseNftablesEvents(buffer.data(), size, events))
      *overran = true;
  }
  return true;
}

}  // namespace knock
