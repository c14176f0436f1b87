// bench_syn_flood: a random-source spoofed SYN flood on one interface, as
// fast as AF_PACKET and sendmmsg go (or capped with --pps), bounded in time
// and count. Sources are random in 198.19.0.0/16, so they stay in the test
// range and never collide with the real clients in 198.18.0.0/16.
// With --udp-payload-file, every frame is instead one UDP datagram carrying
// the file's first line to --udp-port (a captured SPA packet replayed from
// spoofed sources).
//
//   bench_syn_flood --dev IF --dst-mac MAC --dest IP --ports LO-HI|P1,P2,..
//       --seconds S [--max-packets N] [--pps R]
//   bench_syn_flood --dev IF --dst-mac MAC --dest IP --udp-payload-file F
//       --udp-port P --seconds S [--max-packets N] [--pps R]

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/flood_pool.h"
#include "tests/tools/flood_frame.h"

namespace {

constexpr int kBatchFrames = 256;

// Set by SIGTERM or SIGINT: the flood ends early and still reports.
volatile std::sig_atomic_t g_stop = 0;

void OnStop(int) { g_stop = 1; }

/// What the command line asked for.
struct Options {
  std::string dev, dst_mac, dest, ports, udp_payload;
  uint16_t udp_port = 0;
  double seconds = 1;
  long max_packets = 1L << 40, pps = 0;
};

int64_t NowUs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1000000 + now.tv_nsec / 1000;
}

bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--dev")
      o->dev = value;
    else if (flag == "--dst-mac")
      o->dst_mac = value;
    else if (flag == "--dest")
      o->dest = value;
    else if (flag == "--ports")
      o->ports = value;
    else if (flag == "--seconds")
      o->seconds = atof(value.c_str());
    else if (flag == "--max-packets")
      o->max_packets = atol(value.c_str());
    else if (flag == "--pps")
      o->pps = atol(value.c_str());
    else if (flag == "--udp-port")
      o->udp_port = uint16_t(atoi(value.c_str()));
    else if (flag == "--udp-payload-file") {
      std::ifstream in(value);
      if (!std::getline(in, o->udp_payload) || o->udp_payload.empty())
        return false;
    } else
      return false;
  }
  const bool udp = !o->udp_payload.empty() && o->udp_port > 0;
  return !o->dev.empty() && !o->dst_mac.empty() && !o->dest.empty() &&
         (o->ports.empty() == udp) && argc % 2 == 1;
}

std::vector<uint16_t> PortList(const std::string& text) {
  std::vector<uint16_t> ports;
  const size_t dash = text.find('-');
  if (dash != std::string::npos) {
    for (long p = atol(text.c_str()); p <= atol(text.c_str() + dash + 1); ++p)
      ports.push_back(uint16_t(p));
    return ports;
  }
  std::stringstream list(text);
  for (std::string port; std::getline(list, port, ',');)
    ports.push_back(uint16_t(atoi(port.c_str())));
  return ports;
}

std::vector<std::vector<uint8_t>> BuildPool(const Options& o,
                                            const knock::FrameMacs& macs) {
  knock::IpAddress dest;
  std::string err;
  knock::IpAddress::Parse(o.dest, &dest, &err);
  std::vector<std::vector<uint8_t>> pool;
  for (const knock::FloodPacket& packet :
       knock::FloodPool(NowUs(), PortList(o.ports))) {
    pool.push_back(o.udp_payload.empty()
                       ? knock::BuildFloodFrame(macs, knock::Transport::kTcp,
                                                packet.source, dest,
                                                packet.source_port, packet.port)
                       : knock::BuildUdpPayloadFrameV4(
                             macs, packet.source, dest, packet.source_port,
                             o.udp_port, o.udp_payload));
  }
  return pool;
}

int OpenSocket(const Options& o, uint8_t* src_mac, sockaddr_ll* link) {
  const int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) return -1;
  ifreq request{};
  snprintf(request.ifr_name, sizeof request.ifr_name, "%s", o.dev.c_str());
  if (ioctl(fd, SIOCGIFHWADDR, &request) != 0) return -1;
  memcpy(src_mac, request.ifr_hwaddr.sa_data, 6);
  const int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  link->sll_family = AF_PACKET;
  link->sll_ifindex = static_cast<int>(if_nametoindex(o.dev.c_str()));
  link->sll_halen = 6;
  return fd;
}

long Flood(int fd, const Options& o, const sockaddr_ll& link,
           std::vector<std::vector<uint8_t>>* pool) {
  std::vector<iovec> iov(kBatchFrames);
  std::vector<mmsghdr> messages(kBatchFrames);
  const int64_t start_us = NowUs();
  const int64_t end_us = start_us + int64_t(o.seconds * 1e6);
  long sent = 0;
  size_t next = 0;
  while (!g_stop && sent < o.max_packets && NowUs() < end_us) {
    if (o.pps > 0 && sent > (NowUs() - start_us) * o.pps / 1000000) {
      usleep(100);
      continue;
    }
    const int n = int(std::min<long>(kBatchFrames, o.max_packets - sent));
    for (int i = 0; i < n; ++i, next = (next + 1) % pool->size()) {
      iov[i] = {(*pool)[next].data(), (*pool)[next].size()};
      messages[i] = {};
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = const_cast<sockaddr_ll*>(&link);
      messages[i].msg_hdr.msg_namelen = sizeof link;
    }
    const int rc = sendmmsg(fd, messages.data(), n, 0);
    if (rc > 0)
      sent += rc;
    else if (errno != ENOBUFS && errno != EAGAIN)
      break;
  }
  return sent;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, &o)) {
    fprintf(stderr,
            "usage: bench_syn_flood --dev IF --dst-mac MAC --dest IP --ports "
            "LO-HI --seconds S [--max-packets N] [--pps R]\n"
            "       bench_syn_flood ... --udp-payload-file F --udp-port P "
            "(instead of --ports)\n");
    return 2;
  }
  knock::FrameMacs macs;
  if (!knock::ParseMac(o.dst_mac, macs.dst)) {
    fprintf(stderr, "bench_syn_flood: bad MAC \"%s\"\n", o.dst_mac.c_str());
    return 2;
  }
  sockaddr_ll link{};
  const int fd = OpenSocket(o, macs.src, &link);
  if (fd < 0) {
    fprintf(stderr, "bench_syn_flood: cannot open \"%s\": %s\n", o.dev.c_str(),
            strerror(errno));
    return 1;
  }
  auto pool = BuildPool(o, macs);
  signal(SIGTERM, OnStop);
  signal(SIGINT, OnStop);
  const int64_t start_us = NowUs();
  const long sent = Flood(fd, o, link, &pool);
  const double seconds = (NowUs() - start_us) / 1e6;
  printf("sent %ld seconds %.3f pps %.0f\n", sent, seconds, sent / seconds);
  close(fd);
  return 0;
}
