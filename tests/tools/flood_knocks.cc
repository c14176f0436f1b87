// flood_knocks: the spoofing flooder of the source-table attack tests. Puts
// TCP SYNs from many forged IPv4 sources on a link through an AF_PACKET
// socket, each source knocking either a given list of ports (a partial
// sequence) or random ports of the knock range, at a bounded rate.
//
//   flood_knocks IFACE DEST_MAC DEST_IP --sources N [--first K]
//       [--ports P,P,... | --random-ports N --range LO-HI]
//       [--rate SOURCES_PER_S] [--seconds MAX] [--seed S]
//
// Sources are 198.19.(K >> 8).(K & 255) for K = first, first + 1, ... (at
// most 65,536 of them). A rate of 0 sends as fast as it can. It stops after
// N sources or MAX seconds (default 60), whichever comes first, and prints
// the number of sources and of frames sent.

#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/flood_frame.h"

namespace {

constexpr uint32_t kMaxSources = 65536;

/// What the command line asked for.
struct Options {
  std::string iface;
  knock::FrameMacs macs;
  knock::IpAddress dest;
  uint32_t sources = 0, first = 0;
  std::vector<uint16_t> ports;
  int random_ports = 0;
  uint16_t range_lo = 16384, range_hi = 32767;
  double rate = 0;
  double seconds = 60;
  unsigned seed = 1;
};

bool ParseOptions(int argc, char** argv, Options* o) {
  std::string err;
  if (argc < 4 || !knock::ParseMac(argv[2], o->macs.dst) ||
      !knock::IpAddress::Parse(argv[3], &o->dest, &err) || !o->dest.is_v4())
    return false;
  // Locally administered: no real interface has it.
  const uint8_t our_mac[knock::kMacBytes] = {0x02, 0, 0, 0x19, 0, 1};
  memcpy(o->macs.src, our_mac, knock::kMacBytes);
  o->iface = argv[1];
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--sources") {
      o->sources = static_cast<uint32_t>(atol(value.c_str()));
    } else if (flag == "--first") {
      o->first = static_cast<uint32_t>(atol(value.c_str()));
    } else if (flag == "--ports") {
      std::string list = value;
      for (char& c : list)
        if (c == ',') c = ' ';
      std::istringstream in(list);
      int port;
      while (in >> port) o->ports.push_back(static_cast<uint16_t>(port));
    } else if (flag == "--random-ports") {
      o->random_ports = atoi(value.c_str());
    } else if (flag == "--range") {
      unsigned lo, hi;
      if (sscanf(value.c_str(), "%u-%u", &lo, &hi) != 2 || lo > hi ||
          hi > 65535)
        return false;
      o->range_lo = static_cast<uint16_t>(lo);
      o->range_hi = static_cast<uint16_t>(hi);
    } else if (flag == "--rate") {
      o->rate = atof(value.c_str());
    } else if (flag == "--seconds") {
      o->seconds = atof(value.c_str());
    } else if (flag == "--seed") {
      o->seed = static_cast<unsigned>(atol(value.c_str()));
    } else {
      return false;
    }
  }
  return o->sources > 0 && o->first + o->sources <= kMaxSources &&
         (o->ports.empty() != (o->random_ports == 0));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, &o)) {
    fprintf(stderr,
            "usage: flood_knocks IFACE DEST_MAC DEST_IP --sources N "
            "[--first K] [--ports P,P,... | --random-ports N --range LO-HI] "
            "[--rate SOURCES_PER_S] [--seconds MAX] [--seed S]\n");
    return 2;
  }
  const int fd = socket(AF_PACKET, SOCK_RAW, 0);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex(o.iface.c_str()));
  to.sll_halen = 6;
  memcpy(to.sll_addr, o.macs.dst, knock::kMacBytes);
  if (fd < 0 || to.sll_ifindex == 0) {
    perror("flood_knocks");
    return 1;
  }
  std::mt19937 random(o.seed);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  std::chrono::duration<double>(o.seconds));
  uint32_t sources = 0;
  long frames = 0;
  std::vector<uint16_t> ports = o.ports;
  for (; sources < o.sources; ++sources) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    if (o.rate > 0) {
      const auto due =
          start +
          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
              std::chrono::duration<double>(sources / o.rate));
      if (due > deadline) break;
      if (due > now) std::this_thread::sleep_until(due);
    }
    const uint32_t k = o.first + sources;
    const uint32_t source = (198u << 24) | (19u << 16) | k;
    if (o.random_ports > 0) {
      ports.clear();
      for (int i = 0; i < o.random_ports; ++i)
        ports.push_back(static_cast<uint16_t>(
            o.range_lo + random() % (o.range_hi - o.range_lo + 1u)));
    }
    for (uint16_t port : ports) {
      const std::vector<uint8_t> frame = knock::BuildFloodFrame(
          o.macs, knock::Transport::kTcp, knock::Ipv4FromHostOrder(source),
          o.dest, static_cast<uint16_t>(40000 + k % 20000), port);
      if (sendto(fd, frame.data(), frame.size(), 0,
                 reinterpret_cast<sockaddr*>(&to), sizeof to) >= 0)
        ++frames;
    }
  }
  close(fd);
  printf("%u %ld\n", sources, frames);
  return 0;
}
