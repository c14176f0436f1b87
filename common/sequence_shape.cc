#include "common/sequence_shape.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "common/knock_sequence.h"

namespace knock {

namespace {

// "1 knock", "8 knocks".
std::string Counted(uint32_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

std::string FormatBits(double bits) {
  double tenths = std::floor(bits * 10) / 10;
  char text[32];
  if (tenths == std::floor(tenths)) {
    std::snprintf(text, sizeof text, "%.0f", tenths);
  } else {
    std::snprintf(text, sizeof text, "%.1f", tenths);
  }
  return text;
}

bool CheckSequenceStrength(const PortRange& ports, int count,
                           std::string* err) {
  const std::string knocks = Counted(static_cast<uint32_t>(count), "knock");
  if (static_cast<uint32_t>(count) > ports.size()) {
    *err = knocks + " need " +
           Counted(static_cast<uint32_t>(count), "distinct port") +
           "; the knock range " + ports.ToString() + " has " +
           std::to_string(ports.size());
    return false;
  }
  const SequenceShape shape{ports.first, ports.size(), count};
  const double bits = SequenceBits(shape);
  if (bits < kMinSequenceBits) {
    *err = knocks + " over " + Counted(ports.size(), "port") +
           (count == 1 ? " carries " : " carry ") + FormatBits(bits) +
           " bits; knock/v1 needs at least 96";
    return false;
  }
  return true;
}

bool CheckSequenceShape(const PortRange& ports, int count, int slots,
                        std::string* err) {
  if (count < 1 || count > kMaxKnockCount) {
    *err = Counted(static_cast<uint32_t>(std::max(count, 0)), "knock") +
           " per sequence; knock/v1 allows 1 to " +
           std::to_string(kMaxKnockCount);
    return false;
  }
  if (slots < 1 || slots > kMaxSlots) {
    *err = Counted(static_cast<uint32_t>(std::max(slots, 0)), "slot") +
           " per window; knock/v1 allows 1 to " + std::to_string(kMaxSlots);
    return false;
  }
  return CheckSequenceStrength(ports, count, err);
}

}  // namespace knock
