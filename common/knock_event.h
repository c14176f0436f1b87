#pragma once
// What the packet decoder hands the matcher: one knock, already checked.

#include <cstdint>

#include "common/ip_address.h"

namespace knock {

/// The transport a knock or a protected port uses; values are IP protocol
/// numbers so that they can go straight into nftables.
enum class Transport : uint8_t { kTcp = 6, kUdp = 17 };

inline const char* TransportName(Transport transport) {
  return transport == Transport::kTcp ? "tcp" : "udp";
}

/// One connection attempt seen on the wire: who knocked, on which port, with
/// which transport, and when (microseconds since the Unix epoch, from the
/// capture's timestamp).
struct Knock {
  IpAddress source;
  uint16_t port = 0;
  Transport transport = Transport::kTcp;
  int64_t time_us = 0;
};

}  // namespace knock
