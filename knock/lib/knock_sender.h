#pragma once
// Sending a knock sequence: resolving the server once, then one TCP SYN or
// UDP datagram per port, from an unprivileged process.

#include <cstdint>
#include <string>
#include <vector>

#include "common/transport.h"
#include "knock/lib/socket_portable.h"

namespace knock {

/// Which address families a host name may resolve to (-4, -6).
enum class AddressFamily { kAny, kV4, kV6 };

/// One resolved server address. Knocks and the connection that follows all
/// go to this one address, so the server sees them from one source.
struct ResolvedAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  /// "198.18.0.1" or "2001:db8::1", without a port.
  std::string ToString() const;
};

/// Resolves `host` (a name or a literal address) to its first address of
/// `family`. The error quotes the host: `cannot resolve "bastion.example":
/// Name or service not known`.
bool ResolveHost(const std::string& host, AddressFamily family,
                 ResolvedAddress* out, std::string* err);

/// `address` with its port set to `port`.
ResolvedAddress WithPort(const ResolvedAddress& address, uint16_t port);

/// Sends one knock per port, in order, `gap_ms` apart (0: one burst). A TCP
/// knock is a non-blocking connect() closed at once with a zero linger, so
/// exactly one SYN leaves and the kernel never retransmits it; a UDP knock is
/// one empty datagram. `sent_offsets_us`, if given, receives each knock's time
/// in microseconds after the first.
bool SendKnocks(const ResolvedAddress& address,
                const std::vector<uint16_t>& ports, Transport transport,
                int64_t gap_ms, std::vector<int64_t>* sent_offsets_us,
                std::string* err);

}  // namespace knock
