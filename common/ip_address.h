#pragma once
// Source addresses of knocks: IPv4 or IPv6, compared and hashed as bytes.

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace knock {

/// An IPv4 or IPv6 address as a packet carried it: who knocked, who is
/// granted. IPv4 uses the first 4 bytes; the rest stay zero so that equality
/// and hashing can look at all 16.
struct IpAddress {
  enum class Family : uint8_t { kV4 = 4, kV6 = 6 };
  Family family = Family::kV4;
  std::array<uint8_t, 16> bytes{};

  static IpAddress V4(const uint8_t* four_bytes);
  static IpAddress V6(const uint8_t* sixteen_bytes);
  /// Parses dotted-quad or RFC 5952 text; the error quotes the text.
  static bool Parse(std::string_view text, IpAddress* out, std::string* err);

  bool is_v4() const { return family == Family::kV4; }
  std::string ToString() const;
  /// Two word compares, not a call to memcmp: the sniffer's source table
  /// compares addresses at every knock.
  bool operator==(const IpAddress& other) const {
    uint64_t mine[2], theirs[2];
    std::memcpy(mine, bytes.data(), sizeof mine);
    std::memcpy(theirs, other.bytes.data(), sizeof theirs);
    return family == other.family && mine[0] == theirs[0] &&
           mine[1] == theirs[1];
  }
};

/// What kind of address a grant would be for. Only kUnicast may be opened:
/// a hole for any other class either names no single host or names this one.
enum class AddressClass {
  kUnicast,
  kUnspecified,  // 0.0.0.0/8, ::
  kLoopback,     // 127.0.0.0/8, ::1
  kBroadcast,    // 255.255.255.255 (a subnet's broadcast is not
                 // knowable from the address alone)
  kMulticast,    // 224.0.0.0/4 beyond 224.0.0.0/24, ff00::/8 beyond ff02::/16
  kLinkLocalMulticast,  // 224.0.0.0/24, ff02::/16
  kIpv4Mapped,          // ::ffff:0:0/96: an IPv4 address in IPv6 clothing
};

/// Classifies `address` as a source a grant could be for.
AddressClass ClassifyAddress(const IpAddress& address);
/// "unicast", "unspecified", "loopback", "broadcast", "multicast",
/// "link-local multicast", "IPv4-mapped".
const char* AddressClassName(AddressClass address_class);

/// Hashes an address for the per-source table; seeded so that an attacker
/// who picks spoofed sources cannot aim them all at one bucket.
struct IpAddressHash {
  uint64_t seed = 0;
  /// Inline: the sniffer hashes every knock's source, and a call cost more
  /// than the hash.
  size_t operator()(const IpAddress& address) const {
    // SipHash would be stronger; a seeded multiply-xorshift over two words
    // is enough to keep spoofed sources from choosing collisions without
    // knowing the per-process seed, and costs a few cycles per packet.
    uint64_t lo, hi;
    std::memcpy(&lo, address.bytes.data(), 8);
    std::memcpy(&hi, address.bytes.data() + 8, 8);
    uint64_t h = seed ^ (static_cast<uint64_t>(address.family) << 56);
    for (uint64_t word : {lo, hi}) {
      h ^= word;
      h *= 0x9e3779b97f4a7c15ULL;
      h ^= h >> 29;
    }
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return static_cast<size_t>(h);
  }
};

}  // namespace knock
