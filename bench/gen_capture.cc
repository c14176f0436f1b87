// bench_gen_capture: writes the matcher benchmark's captures. Random-source
// knocks over the knock range with real knock/v1 sequences planted in them
// (derived from a server configuration and its private key), or fwknop's
// kind: random UDP payloads to its SPA port with real SPA packets planted.
//
//   bench_gen_capture --out FILE --packets N [--pps R] [--start UNIX] [--seed
//   S]
//       (-c SERVER_CONF --planted P | --spa-file FILE | --distinct-sources)
// Prints "planted N" on stdout.

#include <pcap/dlt.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/key_file.h"
#include "common/knock_sequence.h"
#include "common/pair_key.h"
#include "knockd/shared/server_config.h"
#include "knockd/sniffer/pcap_writer.h"

namespace {

constexpr int kKnockSpacingPackets = 64;  // noise between two planted knocks
constexpr uint16_t kSpaPort = 62201;

/// What the command line asked for.
struct Options {
  std::string out, config, spa_file;
  long packets = 0, planted = 0, pps = 100000, start = 0;
  uint64_t seed = 1;
  bool distinct_sources = false;
};

/// One frame to put at a given position of the noise stream.
struct PlantedFrame {
  long index;
  std::vector<uint8_t> frame;
};

bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--distinct-sources") {
      o->distinct_sources = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const std::string value = argv[++i];
    if (flag == "--out")
      o->out = value;
    else if (flag == "-c")
      o->config = value;
    else if (flag == "--spa-file")
      o->spa_file = value;
    else if (flag == "--packets")
      o->packets = atol(value.c_str());
    else if (flag == "--planted")
      o->planted = atol(value.c_str());
    else if (flag == "--pps")
      o->pps = atol(value.c_str());
    else if (flag == "--start")
      o->start = atol(value.c_str());
    else if (flag == "--seed")
      o->seed = strtoull(value.c_str(), nullptr, 10);
    else
      return false;
  }
  if (o->start == 0) o->start = time(nullptr);
  return !o->out.empty() && o->packets > 0 && o->pps > 0;
}

knock::IpAddress V4(uint32_t address) {
  const uint8_t bytes[4] = {uint8_t(address >> 24), uint8_t(address >> 16),
                            uint8_t(address >> 8), uint8_t(address)};
  return knock::IpAddress::V4(bytes);
}

// A random unicast source: first octet 1-223, never 127 (the decoder
// rightly drops martian sources, which would not be knocks at all).
uint32_t RandomUnicastV4(uint64_t r) {
  uint32_t first = 1 + uint32_t(r % 223);
  if (first == 127) first = 128;
  return (first << 24) | uint32_t((r >> 8) & 0xffffff);
}

knock::IpAddress V6Numbered(uint32_t n) {
  uint8_t bytes[16] = {0x20, 0x01, 0x0d, 0xb8};
  bytes[12] = uint8_t(n >> 24), bytes[13] = uint8_t(n >> 16);
  bytes[14] = uint8_t(n >> 8), bytes[15] = uint8_t(n);
  return knock::IpAddress::V6(bytes);
}

const knock::IpAddress kServer = V4(0xC6120001);     // 198.18.0.1
constexpr uint32_t kPlantedSourceBase = 0xC6128000;  // 198.18.128.0

// An Ethernet/IPv4/UDP frame carrying `payload`; UDP checksum 0 (allowed).
std::vector<uint8_t> UdpFrame(uint32_t src, uint16_t dport,
                              const std::string& payload) {
  const size_t ip_length = 20 + 8 + payload.size();
  std::vector<uint8_t> f(14 + ip_length, 0);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45, ip[2] = uint8_t(ip_length >> 8), ip[3] = uint8_t(ip_length);
  ip[8] = 64, ip[9] = 17;
  const uint32_t dst = 0xC6120001;
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = uint8_t(src >> (24 - 8 * i));
    ip[16 + i] = uint8_t(dst >> (24 - 8 * i));
  }
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = uint8_t(~sum >> 8), ip[11] = uint8_t(~sum);
  uint8_t* udp = ip + 20;
  udp[0] = 0xa0, udp[1] = 0x01, udp[2] = uint8_t(dport >> 8);
  udp[3] = uint8_t(dport), udp[4] = uint8_t((8 + payload.size()) >> 8);
  udp[5] = uint8_t(8 + payload.size());
  std::copy(payload.begin(), payload.end(), udp + 8);
  return f;
}

/// Plants, per time window, sequences of distinct (client, slot) so that
/// every planted sequence is a grant, never a replay.
bool PlantSequences(const Options& o, std::vector<PlantedFrame>* planted,
                    long* count) {
  knock::ServerConfig config;
  knock::PrivateKey server_key;
  std::string err;
  if (!knock::LoadServerConfig(o.config, &config, &err) ||
      !knock::ReadPrivateKeyFile(config.private_key_file, &server_key, &err)) {
    fprintf(stderr, "bench_gen_capture: %s\n", err.c_str());
    return false;
  }
  const knock::KnockSettings& k = config.knock;
  const knock::SequenceShape shape{k.ports.first, k.ports.size(), k.count};
  std::vector<knock::PairKey> keys(config.clients.size());
  for (size_t c = 0; c < keys.size(); ++c)
    if (!knock::DerivePairKey(server_key, config.clients[c].public_key,
                              knock::PairRole::kServer, &keys[c], &err))
      return false;
  std::map<uint64_t, long> used_in_window;
  const long spacing = o.packets / std::max(1L, o.planted);
  for (long i = 0; i < o.planted; ++i) {
    const long first = i * spacing + spacing / 4;
    const int64_t t_us = o.start * 1000000LL + first * 1000000LL / o.pps;
    const uint64_t window = knock::WindowAt(t_us / 1000000, k.step_seconds);
    const long n = used_in_window[window]++;
    const size_t client = n % keys.size();
    if (n / static_cast<long>(keys.size()) >= k.slots) continue;
    const std::string& service = config.clients[client].services[0];
    const knock::SequenceId id{window, uint8_t(n / keys.size()), service};
    std::vector<uint16_t> ports;
    if (!knock::DeriveSequence(keys[client], id, shape, &ports, &err))
      return false;
    for (size_t j = 0; j < ports.size(); ++j)
      planted->push_back(
          {first + long(j) * kKnockSpacingPackets,
           knock::BuildTcpSynFrame(V4(kPlantedSourceBase + uint32_t(i)),
                                   kServer, 40000, ports[j], DLT_EN10MB)});
    ++*count;
  }
  return true;
}

/// Plants each line of fwknop's saved SPA packets (-B) once, spread evenly.
bool PlantSpa(const Options& o, std::vector<PlantedFrame>* planted,
              long* count) {
  std::ifstream in(o.spa_file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  if (lines.empty()) {
    fprintf(stderr, "bench_gen_capture: no SPA packet in \"%s\"\n",
            o.spa_file.c_str());
    return false;
  }
  const long spacing = o.packets / long(lines.size());
  for (size_t i = 0; i < lines.size(); ++i)
    planted->push_back(
        {long(i) * spacing + spacing / 2,
         UdpFrame(kPlantedSourceBase + uint32_t(i), kSpaPort, lines[i])});
  *count = long(lines.size());
  return true;
}

std::string RandomBase64(std::mt19937_64* rng, size_t length) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s(length, 'A');
  for (char& c : s) c = kAlphabet[(*rng)() & 63];
  return s;
}

std::vector<uint8_t> NoiseFrame(const Options& o, long i,
                                std::mt19937_64* rng) {
  const uint64_t r = (*rng)();
  if (!o.spa_file.empty())
    return UdpFrame(RandomUnicastV4(r), kSpaPort, RandomBase64(rng, 180));
  const uint16_t port = uint16_t(16384 + ((r >> 32) & 0x3fff));
  const knock::IpAddress source =
      o.distinct_sources ? V6Numbered(uint32_t(i)) : V4(RandomUnicastV4(r));
  const knock::IpAddress dest =
      o.distinct_sources ? V6Numbered(0xffffffff) : kServer;
  return knock::BuildTcpSynFrame(source, dest, uint16_t(1024 + (r >> 54)), port,
                                 DLT_EN10MB);
}

bool WriteCapture(const Options& o, const std::vector<PlantedFrame>& planted) {
  knock::PcapWriter writer;
  std::string err;
  if (!writer.Open(o.out, DLT_EN10MB, &err)) {
    fprintf(stderr, "bench_gen_capture: %s\n", err.c_str());
    return false;
  }
  std::mt19937_64 rng(o.seed);
  size_t next = 0;
  for (long i = 0; i < o.packets; ++i) {
    const int64_t t_us = o.start * 1000000LL + i * 1000000LL / o.pps;
    const bool plant = next < planted.size() && planted[next].index <= i;
    const std::vector<uint8_t> frame =
        plant ? planted[next++].frame : NoiseFrame(o, i, &rng);
    if (!writer.Write(frame, t_us, &err)) {
      fprintf(stderr, "bench_gen_capture: %s\n", err.c_str());
      return false;
    }
  }
  return writer.Close(&err);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, &o)) {
    fprintf(stderr,
            "usage: bench_gen_capture --out FILE --packets N [--pps R] "
            "(-c CONF --planted P | --spa-file FILE | --distinct-sources)\n");
    return 2;
  }
  std::vector<PlantedFrame> planted;
  long count = 0;
  if (!o.config.empty() && !PlantSequences(o, &planted, &count)) return 1;
  if (!o.spa_file.empty() && !PlantSpa(o, &planted, &count)) return 1;
  std::stable_sort(planted.begin(), planted.end(),
                   [](const PlantedFrame& a, const PlantedFrame& b) {
                     return a.index < b.index;
                   });
  if (!WriteCapture(o, planted)) return 1;
  printf("planted %ld\n", count);
  return 0;
}
