#pragma once
// Source addresses of knocks: IPv4 or IPv6, compared and hashed as bytes.

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
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
  bool operator==(const IpAddress& other) const = default;
};

/// Hashes an address for the per-source table; seeded so that an attacker
/// who picks spoofed sources cannot aim them all at one bucket.
struct IpAddressHash {
  uint64_t seed = 0;
  size_t operator()(const IpAddress& address) const;
};

}  // namespace knock
