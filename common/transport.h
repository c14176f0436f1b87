#pragma once
// Transports: what a knock travels on and what a protected port speaks. The
// client and the daemon must name them identically.

#include <cstdint>

namespace knock {

/// The transport a knock or a protected port uses; values are IP protocol
/// numbers so that they can go straight into nftables.
enum class Transport : uint8_t { kTcp = 6, kUdp = 17 };

inline const char* TransportName(Transport transport) {
  return transport == Transport::kTcp ? "tcp" : "udp";
}

/// Which transports count as knocks (knock/v1 `protocol`).
enum class KnockProtocol { kTcp, kUdp, kBoth };

}  // namespace knock
