#pragma once
// The benchmark flood's packets: bench_syn_flood sends them, and
// bench_flood_matching matches the same ones without the capture.

#include <cstdint>
#include <random>
#include <vector>

#include "common/ip_address.h"

namespace knock {

/// How many distinct packets the flood sends, over and over: each source
/// of the /16 comes back every few hundred milliseconds at full rate.
inline constexpr int kFloodPoolPackets = 65536;

/// One spoofed packet of the flood.
struct FloodPacket {
  IpAddress source;
  uint16_t source_port = 0;
  uint16_t port = 0;
};

/// kFloodPoolPackets packets from random sources in 198.19.0.0/16 (inside
/// the benchmark's namespaces), random source ports, and destination ports
/// drawn from `ports`, one random stream seeded by `seed`.
inline std::vector<FloodPacket> FloodPool(uint64_t seed,
                                          const std::vector<uint16_t>& ports) {
  std::mt19937_64 rng(seed);
  std::vector<FloodPacket> pool;
  pool.reserve(kFloodPoolPackets);
  for (int i = 0; i < kFloodPoolPackets; ++i) {
    const uint64_t r = rng();
    const uint8_t source[4] = {198, 19, uint8_t(r >> 8), uint8_t(r)};
    pool.push_back(
        {IpAddress::V4(source), uint16_t(1024 + (r >> 50)),
         ports.empty() ? uint16_t{0} : ports[(r >> 16) % ports.size()]});
  }
  return pool;
}

}  // namespace knock
