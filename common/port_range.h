#pragma once
// Inclusive port ranges such as the knock range "16384-32767".

#include <cstdint>
#include <string>
#include <string_view>

namespace knock {

/// An inclusive range of ports [first, last]; never empty.
struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;

  uint32_t size() const { return uint32_t{last} - first + 1; }
  bool Contains(uint16_t port) const { return port >= first && port <= last; }
  bool Overlaps(const PortRange& other) const {
    return first <= other.last && other.first <= last;
  }
  std::string ToString() const;
  bool operator==(const PortRange& other) const = default;
};

/// Parses "A-B" (A <= B, both 1..65535) or a single port "A". The error
/// quotes the text: `not a port range "9-3"`.
bool ParsePortRange(std::string_view text, PortRange* out, std::string* err);

}  // namespace knock
