// knock_flood: puts knock traffic on a link through an AF_PACKET socket, as
// fast as sendmmsg goes or at a chosen rate, bounded in time and count. The
// end-to-end attack and soak tests use it.
//
//   knock_flood --dev IF --dst-mac MAC --dest IP --seconds S
//       [--max-packets N] [--pps R] (--replay P1,P2,... | --grants CONF)
//       [--per-window G] [--noise-pps R]
//
// --replay: one sniffed sequence resent from ever new spoofed sources in
//   198.19.0.0/16, each source sending every port in order.
// --grants: real sequences, derived from the server configuration CONF and
//   its private key, G per window of the wall clock (distinct client and
//   slot, so each is a first use), each from a new source in 198.18.128.0/17;
//   with --noise-pps, a light random-port flood from 198.19.0.0/16 beside.
// Prints "sent N grants G seconds T pps R".

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/key_file.h"
#include "common/knock_sequence.h"
#include "common/pair_key.h"
#include "knockd/shared/server_config.h"
#include "tests/tools/flood_frame.h"

namespace {

constexpr int kBatchFrames = 256;
constexpr uint32_t kReplaySourceBase = 0xC6130000;  // 198.19.0.0
constexpr uint32_t kGrantSourceBase = 0xC6128000;   // 198.18.128.0
constexpr uint32_t kGrantSources = 1u << 15;
constexpr int64_t kMicrosPerSecond = 1000000;
constexpr uint32_t kReplaySources = 8192;

volatile std::sig_atomic_t g_stop = 0;
void OnStop(int) { g_stop = 1; }

/// What the command line asked for.
struct Options {
  std::string dev, dst_mac, dest, replay, grants;
  double seconds = 1;
  long max_packets = 1L << 40, pps = 0, per_window = 0, noise_pps = 0;
};

int64_t NowUs(clockid_t clock = CLOCK_MONOTONIC) {
  timespec now{};
  clock_gettime(clock, &now);
  return int64_t{now.tv_sec} * kMicrosPerSecond + now.tv_nsec / 1000;
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
    else if (flag == "--replay")
      o->replay = value;
    else if (flag == "--grants")
      o->grants = value;
    else if (flag == "--seconds")
      o->seconds = atof(value.c_str());
    else if (flag == "--max-packets")
      o->max_packets = atol(value.c_str());
    else if (flag == "--pps")
      o->pps = atol(value.c_str());
    else if (flag == "--per-window")
      o->per_window = atol(value.c_str());
    else if (flag == "--noise-pps")
      o->noise_pps = atol(value.c_str());
    else
      return false;
  }
  return argc % 2 == 1 && !o->dev.empty() && !o->dst_mac.empty() &&
         !o->dest.empty() && (o->replay.empty() != o->grants.empty());
}

/// The link and the frames' fixed parts.
struct Link {
  int fd = -1;
  sockaddr_ll address{};
  knock::FrameMacs macs;
  knock::IpAddress dest;
};

bool OpenLink(const Options& o, Link* link) {
  if (!knock::ParseMac(o.dst_mac, link->macs.dst)) {
    fprintf(stderr, "knock_flood: bad MAC \"%s\"\n", o.dst_mac.c_str());
    return false;
  }
  std::string err;
  if (!knock::IpAddress::Parse(o.dest, &link->dest, &err)) {
    fprintf(stderr, "knock_flood: %s\n", err.c_str());
    return false;
  }
  link->fd = socket(AF_PACKET, SOCK_RAW, 0);
  ifreq request{};
  snprintf(request.ifr_name, sizeof request.ifr_name, "%s", o.dev.c_str());
  if (link->fd < 0 || ioctl(link->fd, SIOCGIFHWADDR, &request) != 0) {
    fprintf(stderr, "knock_flood: cannot open \"%s\": %s\n", o.dev.c_str(),
            strerror(errno));
    return false;
  }
  memcpy(link->macs.src, request.ifr_hwaddr.sa_data, knock::kMacBytes);
  const int one = 1;
  setsockopt(link->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  link->address.sll_family = AF_PACKET;
  link->address.sll_ifindex = static_cast<int>(if_nametoindex(o.dev.c_str()));
  link->address.sll_halen = 6;
  return true;
}

std::vector<uint8_t> Syn(const Link& link, uint32_t source, uint16_t port) {
  return knock::BuildFloodFrame(link.macs, knock::Transport::kTcp,
                                knock::Ipv4FromHostOrder(source), link.dest,
                                uint16_t(40000 + (source & 0x3fff)), port);
}

/// Sends frames [begin, end) in batches; returns how many went out.
long SendAll(const Link& link, std::vector<std::vector<uint8_t>>* frames,
             size_t begin = 0, size_t end = SIZE_MAX) {
  std::vector<iovec> iov(kBatchFrames);
  std::vector<mmsghdr> messages(kBatchFrames);
  long sent = 0;
  end = std::min(end, frames->size());
  for (size_t first = begin; first < end && !g_stop;) {
    const size_t n = std::min<size_t>(kBatchFrames, end - first);
    for (size_t i = 0; i < n; ++i) {
      iov[i] = {(*frames)[first + i].data(), (*frames)[first + i].size()};
      messages[i] = {};
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = const_cast<sockaddr_ll*>(&link.address);
      messages[i].msg_hdr.msg_namelen = sizeof link.address;
    }
    const int rc = sendmmsg(link.fd, messages.data(), n, 0);
    if (rc > 0) {
      sent += rc;
      first += rc;
    } else if (errno != ENOBUFS && errno != EAGAIN) {
      break;
    }
  }
  return sent;
}

std::vector<uint16_t> PortList(const std::string& text) {
  std::vector<uint16_t> ports;
  std::stringstream list(text);
  for (std::string port; std::getline(list, port, ',');)
    ports.push_back(uint16_t(atoi(port.c_str())));
  return ports;
}

/// The replayed sequence from kReplaySources spoofed sources in turn, over
/// and over; frames are built once, so the rate is the link's.
long Replay(const Options& o, const Link& link) {
  const std::vector<uint16_t> ports = PortList(o.replay);
  std::vector<std::vector<uint8_t>> pool;
  for (uint32_t s = 1; s <= kReplaySources; ++s)
    for (uint16_t port : ports)
      pool.push_back(Syn(link, kReplaySourceBase + s, port));
  const int64_t start_us = NowUs();
  const int64_t end_us = start_us + int64_t(o.seconds * kMicrosPerSecond);
  long sent = 0;
  size_t next = 0;
  while (!g_stop && sent < o.max_packets && NowUs() < end_us) {
    if (o.pps > 0 && sent > (NowUs() - start_us) * o.pps / kMicrosPerSecond) {
      usleep(100);
      continue;
    }
    const size_t n = size_t(std::min<long>(kBatchFrames, o.max_packets - sent));
    const long done = SendAll(link, &pool, next, next + n);
    if (done <= 0) break;
    sent += done;
    next = (next + done) % pool.size();
  }
  return sent;
}

/// The server's sequences as its knockd derives them.
struct Sequences {
  knock::ServerConfig config;
  std::vector<knock::PairKey> keys;
};

bool LoadSequences(const std::string& path, Sequences* out) {
  knock::PrivateKey server_key;
  std::string err;
  if (!knock::LoadServerConfig(path, &out->config, &err) ||
      !knock::ReadPrivateKeyFile(out->config.private_key_file, &server_key,
                                 &err)) {
    fprintf(stderr, "knock_flood: %s\n", err.c_str());
    return false;
  }
  out->keys.resize(out->config.clients.size());
  for (size_t c = 0; c < out->keys.size(); ++c) {
    if (!knock::DerivePairKey(server_key, out->config.clients[c].public_key,
                              knock::PairRole::kServer, &out->keys[c], &err)) {
      fprintf(stderr, "knock_flood: %s\n", err.c_str());
      return false;
    }
  }
  return true;
}

/// `per_window` first uses in every window, and noise beside.
long Grants(const Options& o, const Link& link, long* grants) {
  Sequences s;
  if (!LoadSequences(o.grants, &s)) return -1;
  const knock::KnockSettings& k = s.config.knock;
  const knock::SequenceShape shape{k.ports.first, k.ports.size(), k.count};
  const long capacity = long(s.keys.size()) * k.slots;
  const long per_window = std::min(o.per_window, capacity);
  std::mt19937_64 rng(NowUs());
  const int64_t start_us = NowUs();
  const int64_t end_us = start_us + int64_t(o.seconds * kMicrosPerSecond);
  uint64_t last_window = 0;
  uint32_t next_source = 0;
  long sent = 0, noise = 0;
  while (!g_stop && sent < o.max_packets && NowUs() < end_us) {
    std::vector<std::vector<uint8_t>> batch;
    const uint64_t window = knock::WindowAt(
        NowUs(CLOCK_REALTIME) / kMicrosPerSecond, k.step_seconds);
    if (window != last_window) {
      last_window = window;
      for (long i = 0; i < per_window; ++i) {
        const size_t client = size_t(i) % s.keys.size();
        const knock::SequenceId id{window, uint8_t(i / long(s.keys.size())),
                                   s.config.clients[client].services[0]};
        std::vector<uint16_t> ports;
        std::string err;
        if (!knock::DeriveSequence(s.keys[client], id, shape, &ports, &err))
          return -1;
        const uint32_t source =
            kGrantSourceBase + next_source++ % kGrantSources;
        for (uint16_t port : ports) batch.push_back(Syn(link, source, port));
        ++*grants;
      }
    }
    const long noise_due =
        (NowUs() - start_us) * o.noise_pps / kMicrosPerSecond;
    for (; noise < noise_due; ++noise) {
      const uint64_t r = rng();
      batch.push_back(
          Syn(link, kReplaySourceBase | uint32_t(r & 0xffff),
              uint16_t(k.ports.first + (r >> 16) % k.ports.size())));
    }
    sent += SendAll(link, &batch);
    usleep(10000);
  }
  return sent;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, &o)) {
    fprintf(stderr,
            "usage: knock_flood --dev IF --dst-mac MAC --dest IP --seconds S "
            "[--max-packets N] [--pps R] (--replay P1,P2,... | --grants CONF "
            "--per-window G [--noise-pps R])\n");
    return 2;
  }
  Link link;
  if (!OpenLink(o, &link)) return 1;
  signal(SIGTERM, OnStop);
  signal(SIGINT, OnStop);
  const int64_t start_us = NowUs();
  long grants = 0;
  const long sent =
      o.replay.empty() ? Grants(o, link, &grants) : Replay(o, link);
  if (sent < 0) return 1;
  const double seconds = double(NowUs() - start_us) / kMicrosPerSecond;
  printf("sent %ld grants %ld seconds %.3f pps %.0f\n", sent, grants, seconds,
         sent / seconds);
  close(link.fd);
  return 0;
}
