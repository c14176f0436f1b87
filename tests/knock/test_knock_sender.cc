// Resolving the server and sending knocks: UDP datagrams to sockets of this
// test, and knocks watched with a packet socket inside a private user and
// network namespace (no root needed), sent to 198.18.0.2 where nothing
// answers.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "knock/lib/knock_sender.h"

namespace {

constexpr int kSkipExit = 77;

knock::ResolvedAddress Loopback() {
  knock::ResolvedAddress address;
  std::string err;
  REQUIRE(knock::ResolveHost("127.0.0.1", knock::AddressFamily::kAny, &address,
                             &err));
  return address;
}

/// A UDP socket on 127.0.0.1 that timestamps what it receives.
struct UdpReceiver {
  int fd = -1;
  uint16_t port = 0;
  UdpReceiver() {
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) ==
            0);
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~UdpReceiver() { close(fd); }
  // Kernel receive times (ns) of every datagram queued, and their sizes.
  std::vector<int64_t> Drain(std::vector<ssize_t>* sizes) {
    std::vector<int64_t> times;
    for (;;) {
      char data[64], control[256];
      iovec io{data, sizeof data};
      msghdr message{};
      message.msg_iov = &io;
      message.msg_iovlen = 1;
      message.msg_control = control;
      message.msg_controllen = sizeof control;
      ssize_t n = recvmsg(fd, &message, 0);
      if (n < 0) return times;
      sizes->push_back(n);
      for (cmsghdr* c = CMSG_FIRSTHDR(&message); c;
           c = CMSG_NXTHDR(&message, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          timespec stamp;
          memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
          times.push_back(int64_t{stamp.tv_sec} * 1000000000 + stamp.tv_nsec);
        }
    }
  }
};

// Inside a fresh user namespace: become its root, so that `ip` keeps its
// capabilities across exec.
bool MapToRoot(uid_t uid, gid_t gid) {
  auto write_file = [](const char* path, const std::string& text) {
    FILE* f = fopen(path, "w");
    if (f == nullptr) return false;
    bool ok = fputs(text.c_str(), f) >= 0;
    return fclose(f) == 0 && ok;
  };
  return write_file("/proc/self/setgroups", "deny") &&
         write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") &&
         write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
}

// In a child already inside fresh namespaces: an interface that owns
// 198.18.0.1/15 and silently drops whatever is sent to the rest of it, as
// knockd's firewall drops knocks. dummy and ifb both need no ARP and drop
// everything they transmit; kernels build in one or the other.
bool DropInterfaceUp() {
  return system(
             "{ ip link add knock0 type dummy || "
             "ip link add knock0 type ifb; } 2>/dev/null && "
             "ip addr add 198.18.0.1/15 dev knock0 && "
             "ip link set knock0 up") == 0;
}

// Describes every packet that left through the dummy interface towards one
// of `ports`, in order: "S:40001" for a SYN, "R:", "F:", "A:" for RST, FIN,
// other TCP, and "U:" for UDP.
std::string OutgoingToPorts(int capture, const std::set<uint16_t>& ports) {
  std::string summary;
  uint8_t packet[2048];
  sockaddr_ll from{};
  socklen_t length = sizeof from;
  ssize_t n;
  while ((n = recvfrom(capture, packet, sizeof packet, MSG_DONTWAIT,
                       reinterpret_cast<sockaddr*>(&from), &length)) > 0) {
    if (from.sll_pkttype != PACKET_OUTGOING || n < 20) continue;
    const size_t header = (packet[0] & 0x0f) * 4;
    const uint8_t protocol = packet[9];
    const size_t needed = header + (protocol == IPPROTO_TCP ? 14 : 4);
    if (n < static_cast<ssize_t>(needed)) continue;
    const uint16_t destination = packet[header + 2] << 8 | packet[header + 3];
    if (ports.count(destination) == 0) continue;
    const uint8_t flags = packet[header + 13];
    const char* kind = protocol == IPPROTO_UDP ? "U:"
                       : (flags & 0x04)        ? "R:"
                       : (flags & 0x01)        ? "F:"
                       : flags == 0x02         ? "S:"
                                               : "A:";
    summary += (summary.empty() ? "" : " ") + std::string(kind) +
               std::to_string(destination);
  }
  return summary;
}

// Runs in the child: knocks inside new namespaces, writes the summary of
// what left (then, after the kernel's first retransmission time, what else
// left) to `report`. Exit status kSkipExit when namespaces are not allowed.
int KnockInNamespace(knock::Transport transport,
                     const std::vector<uint16_t>& ports, int report) {
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0 || !MapToRoot(uid, gid) ||
      !DropInterfaceUp())
    return kSkipExit;
  int capture = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
  if (capture < 0) return kSkipExit;
  sockaddr_ll where{};
  where.sll_family = AF_PACKET;
  where.sll_protocol = htons(ETH_P_ALL);
  where.sll_ifindex = static_cast<int>(if_nametoindex("knock0"));
  if (bind(capture, reinterpret_cast<sockaddr*>(&where), sizeof where) != 0)
    return kSkipExit;
  knock::ResolvedAddress address;
  std::string err;
  if (!knock::ResolveHost("198.18.0.2", knock::AddressFamily::kV4, &address,
                          &err) ||
      !knock::SendKnocks(address, ports, transport, 2, nullptr, &err))
    return 1;
  const std::set<uint16_t> port_set(ports.begin(), ports.end());
  usleep(100 * 1000);
  std::string summary = OutgoingToPorts(capture, port_set) + " |";
  // Nothing answers; a SYN-SENT socket would retransmit after 1 s. None may.
  usleep(1200 * 1000);
  summary += OutgoingToPorts(capture, port_set);
  return write(report, summary.data(), summary.size()) ==
                 static_cast<ssize_t>(summary.size())
             ? 0
             : 1;
}

// Forks, knocks in namespaces; returns the summary, or "skip".
std::string KnockAndWatch(knock::Transport transport,
                          const std::vector<uint16_t>& ports) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    _exit(KnockInNamespace(transport, ports, fds[1]));
  }
  close(fds[1]);
  std::string summary;
  char buffer[512];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0)
    summary.append(buffer, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == kSkipExit) return "skip";
  CHECK(status == 0);
  return summary;
}

}  // namespace

TEST_CASE("hosts resolve to one address of the asked family",
          "[knock_sender]") {
  knock::ResolvedAddress address;
  std::string err;
  REQUIRE(knock::ResolveHost("127.0.0.1", knock::AddressFamily::kAny, &address,
                             &err));
  CHECK(address.family() == AF_INET);
  CHECK(address.ToString() == "127.0.0.1");
  REQUIRE(knock::ResolveHost("2001:db8::7", knock::AddressFamily::kV6, &address,
                             &err));
  CHECK(address.family() == AF_INET6);
  CHECK(address.ToString() == "2001:db8::7");
  CHECK_FALSE(knock::ResolveHost("2001:db8::7", knock::AddressFamily::kV4,
                                 &address, &err));
  CHECK(err ==
        "cannot resolve \"2001:db8::7\" as IPv4 (-4): Address family for "
        "hostname not supported");
  CHECK_FALSE(
      knock::ResolveHost("", knock::AddressFamily::kAny, &address, &err));
  CHECK(err.rfind("cannot resolve \"\": ", 0) == 0);
}

TEST_CASE("UDP knocks arrive once each and in order", "[knock_sender]") {
  std::vector<UdpReceiver> receivers(5);
  // The kernel turns packet timestamps on lazily (from a work queue) after
  // the first SO_TIMESTAMPNS; until then it stamps at recvmsg() instead.
  usleep(100 * 1000);
  std::vector<uint16_t> ports;
  // Sent in the reverse of the order the sockets were made.
  for (auto it = receivers.rbegin(); it != receivers.rend(); ++it)
    ports.push_back(it->port);
  std::vector<int64_t> offsets_us;
  std::string err;
  REQUIRE(knock::SendKnocks(Loopback(), ports, knock::Transport::kUdp, 3,
                            &offsets_us, &err));
  REQUIRE(offsets_us.size() == ports.size());
  CHECK(offsets_us[0] == 0);
  for (size_t i = 1; i < offsets_us.size(); ++i)
    CHECK(offsets_us[i] - offsets_us[i - 1] >= 3000);
  usleep(50 * 1000);
  int64_t previous_ns = 0;
  for (auto it = receivers.rbegin(); it != receivers.rend(); ++it) {
    std::vector<ssize_t> sizes;
    std::vector<int64_t> times = it->Drain(&sizes);
    REQUIRE(times.size() == 1);
    CHECK(sizes == std::vector<ssize_t>{0});
    CHECK(times[0] > previous_ns);
    previous_ns = times[0];
  }
}

TEST_CASE("a TCP knock is exactly one SYN never retransmitted or reset",
          "[knock_sender]") {
  const std::vector<uint16_t> ports = {40001, 41234, 40002, 50999};
  const std::string summary = KnockAndWatch(knock::Transport::kTcp, ports);
  if (summary == "skip") {
    WARN("user namespaces unavailable: the SYN capture was not run");
    return;
  }
  CHECK(summary == "S:40001 S:41234 S:40002 S:50999 |");
}

TEST_CASE("a UDP knock is exactly one datagram", "[knock_sender]") {
  const std::vector<uint16_t> ports = {20930, 20156, 20506};
  const std::string summary = KnockAndWatch(knock::Transport::kUdp, ports);
  if (summary == "skip") {
    WARN("user namespaces unavailable: the capture was not run");
    return;
  }
  CHECK(summary == "U:20930 U:20156 U:20506 |");
}

TEST_CASE("a knock that cannot leave is an error naming the target",
          "[knock_sender]") {
  knock::ResolvedAddress address;
  std::string err;
  // Port 0 cannot be connected to: the kernel refuses at once.
  REQUIRE(knock::ResolveHost("127.0.0.1", knock::AddressFamily::kAny, &address,
                             &err));
  CHECK_FALSE(knock::SendKnocks(address, {0}, knock::Transport::kUdp, 0,
                                nullptr, &err));
  CHECK(err == "cannot send a udp knock to 127.0.0.1 port 0: Invalid argument");
}
