// Sockets inside the knock range: parsing /proc/net text, the live check,
// and the refusal message.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "knockd/helper/listening_sockets.h"

namespace {

const knock::PortRange kRange{16384, 32767};

constexpr char kTcpText[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n"
    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 21375 1 0000000000000000 100 0 0 10 0\n"
    "   1: 0100007F:4E20 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000  1000        0 98765 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0F00000A:5000 070012C6:D431 01 00000000:00000000 02:000A7C2B "
    "00000000  1000        0 55555 2 0000000000000000 20 4 30 10 -1\n"
    "   3: 00000000:7FFF 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 11111 1 0000000000000000 100 0 0 10 0\n"
    "   4: 00000000:4000 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 22222 1 0000000000000000 100 0 0 10 0\n"
    "   5: 00000000:3FFF 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 33333 1 0000000000000000 100 0 0 10 0\n"
    "   6: 00000000:8000 00000000:0000 0A 00000000:00000000 00:00000000 "
    "00000000     0        0 44444 1 0000000000000000 100 0 0 10 0\n";

constexpr char kTcp6Text[] =
    "  sl  local_address                         remote_address              "
    "          st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 00000000000000000000000000000000:4E21 "
    "00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 66666 1 0000000000000000 100 0 0 "
    "10 0\n"
    "   1: 0000000000000000FFFF00000F00000A:4E22 "
    "0000000000000000FFFF0000070012C6:D431 06 00000000:00000000 "
    "03:00000F6D 00000000     0        0 0 3 0000000000000000\n";

constexpr char kUdpText[] =
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode ref pointer drops\n"
    "  123: 00000000:4E23 00000000:0000 07 00000000:00000000 00:00000000 "
    "00000000     0        0 77777 2 0000000000000000 0\n"
    "  456: 0F00000A:5001 08080808:0035 01 00000000:00000000 00:00000000 "
    "00000000  1000        0 88888 2 0000000000000000 0\n"
    "  789: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 "
    "00000000   101        0 99999 2 0000000000000000 0\n";

std::vector<std::string> Describe(const std::vector<knock::Listener>& all) {
  std::vector<std::string> text;
  for (const knock::Listener& l : all) {
    text.push_back(std::string(knock::TransportName(l.transport)) + "/" +
                   std::to_string(l.port) + " inode " +
                   std::to_string(l.inode));
  }
  return text;
}

std::string OwnComm() {
  std::ifstream in("/proc/self/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

uint64_t InodeOf(int fd) {
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  return st.st_ino;
}

// A socket of `type` bound to 127.0.0.1 on an ephemeral port.
int BoundLoopback(int type, uint16_t* port) {
  const int fd = socket(AF_INET, type, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  if (type == SOCK_STREAM) REQUIRE(listen(fd, 1) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  *port = ntohs(address.sin_port);
  return fd;
}

const knock::Listener* WithInode(const std::vector<knock::Listener>& all,
                                 uint64_t inode) {
  for (const knock::Listener& listener : all) {
    if (listener.inode == inode) return &listener;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("TCP listeners in the range, v4 and v6", "[listening]") {
  std::vector<knock::Listener> found;
  std::string err;
  REQUIRE(knock::ParseProcNetListeners(kTcpText, knock::Transport::kTcp, kRange,
                                       "/proc/net/tcp", &found, &err));
  REQUIRE(knock::ParseProcNetListeners(kTcp6Text, knock::Transport::kTcp,
                                       kRange, "/proc/net/tcp6", &found, &err));
  // Not 22, not the established 20480, not 16383 or 32768.
  CHECK(Describe(found) == std::vector<std::string>{"tcp/20000 inode 98765",
                                                    "tcp/32767 inode 11111",
                                                    "tcp/16384 inode 22222",
                                                    "tcp/20001 inode 66666"});
  CHECK(found[0].pid == 0);
}

TEST_CASE("UDP sockets count when bound and unconnected", "[listening]") {
  std::vector<knock::Listener> found;
  std::string err;
  REQUIRE(knock::ParseProcNetListeners(kUdpText, knock::Transport::kUdp, kRange,
                                       "/proc/net/udp", &found, &err));
  CHECK(Describe(found) == std::vector<std::string>{"udp/20003 inode 77777"});
}

TEST_CASE("a malformed /proc/net line is an error quoting it", "[listening]") {
  std::vector<knock::Listener> found;
  std::string err;
  CHECK_FALSE(knock::ParseProcNetListeners(
      "  sl  local_address rem_address   st\n   0: 00000000:ZZ16 "
      "00000000:0000 0A 0 0 0 0 0 1\n",
      knock::Transport::kTcp, kRange, "/proc/net/tcp", &found, &err));
  CHECK(err ==
        "malformed line in /proc/net/tcp: \"   0: 00000000:ZZ16 00000000:0000 "
        "0A 0 0 0 0 0 1\"");
  CHECK_FALSE(knock::ParseProcNetListeners("   0: 00000000:0016\n",
                                           knock::Transport::kTcp, kRange,
                                           "/proc/net/tcp", &found, &err));
  CHECK(err == "malformed line in /proc/net/tcp: \"   0: 00000000:0016\"");
}

TEST_CASE("the refusal names each socket and its process once", "[listening]") {
  knock::Listener nc{knock::Transport::kTcp, 20000, 1, 1234, "nc"};
  CHECK(knock::FormatListenerRefusal(kRange, {nc}) ==
        "knock range 16384-32767 holds a listening socket: tcp/20000 (pid "
        "1234 nc); move the service or the knock range");
  knock::Listener nc6 = nc;
  nc6.inode = 2;
  knock::Listener unknown{knock::Transport::kUdp, 20003, 3, 0, ""};
  CHECK(knock::FormatListenerRefusal(kRange, {nc, nc6, unknown}) ==
        "knock range 16384-32767 holds listening sockets: tcp/20000 (pid "
        "1234 nc), udp/20003 (pid unknown); move the services or the knock "
        "range");
}

TEST_CASE("a live listener is found with its pid", "[listening]") {
  uint16_t tcp_port = 0, udp_port = 0;
  const int tcp = BoundLoopback(SOCK_STREAM, &tcp_port);
  const int udp = BoundLoopback(SOCK_DGRAM, &udp_port);
  std::vector<knock::Listener> found;
  std::string err;
  REQUIRE(knock::FindListenersInRange(
      {tcp_port, tcp_port}, knock::KnockProtocol::kTcp, &found, &err));
  const knock::Listener* listener = WithInode(found, InodeOf(tcp));
  REQUIRE(listener != nullptr);
  CHECK(listener->transport == knock::Transport::kTcp);
  CHECK(listener->port == tcp_port);
  CHECK(listener->pid == getpid());
  CHECK(listener->process == OwnComm());

  REQUIRE(knock::FindListenersInRange(
      {udp_port, udp_port}, knock::KnockProtocol::kTcp, &found, &err));
  CHECK(WithInode(found, InodeOf(udp)) == nullptr);
  REQUIRE(knock::FindListenersInRange(
      {udp_port, udp_port}, knock::KnockProtocol::kBoth, &found, &err));
  listener = WithInode(found, InodeOf(udp));
  REQUIRE(listener != nullptr);
  CHECK(listener->transport == knock::Transport::kUdp);
  CHECK(listener->pid == getpid());
  close(tcp);
  close(udp);
}
