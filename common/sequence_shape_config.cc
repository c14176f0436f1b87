#include "common/sequence_shape_config.h"

#include <cmath>
#include <cstdio>

#include "common/knock_sequence.h"

namespace knock {

namespace {

// knock/v1 section 3: what a sequence must carry at the least.
constexpr double kMinSequenceBits = 96;
// The stream behind a sequence is finite (256 blocks), and the matcher keeps
// count + slack knocks per source: a bound keeps both comfortable.
constexpr int kMaxCount = 64;
constexpr int kMaxSlots = 256;

bool ReadProtocol(const ConfigTable& table, KnockProtocol* out) {
  std::string name;
  if (!table.Choice("protocol", {"tcp", "udp", "both"}, &name)) return false;
  if (name == "tcp") *out = KnockProtocol::kTcp;
  if (name == "udp") *out = KnockProtocol::kUdp;
  if (name == "both") *out = KnockProtocol::kBoth;
  return true;
}

bool ReadStep(const ConfigTable& table, int64_t* step_seconds) {
  int64_t step_ms = *step_seconds * 1000;
  if (!table.DurationMs("step", &step_ms)) return false;
  // Windows are numbered from whole Unix seconds on both sides.
  if (step_ms % 1000 != 0) {
    const auto* text = table.Find("step")->as_string();
    return table.Fail(table.Where("step"), table.Name("step") +
                                               " must be whole seconds (\"" +
                                               text->get() + "\")");
  }
  *step_seconds = step_ms / 1000;
  return true;
}

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

bool ReadSequenceShape(const ConfigTable& table,
                       const SequenceShapeFields& fields) {
  return table.Ports("ports", fields.ports) &&
         table.Integer("count", 1, kMaxCount, fields.count) &&
         ReadProtocol(table, fields.protocol) &&
         ReadStep(table, fields.step_seconds) &&
         table.Integer("slots", 1, kMaxSlots, fields.slots) &&
         CheckSequenceStrength(table, *fields.ports, *fields.count);
}

bool CheckSequenceStrength(const ConfigTable& table, const PortRange& ports,
                           int count) {
  // Point at what the user wrote: the count if given, else the range.
  toml::source_region where = table.Find("count") != nullptr
                                  ? table.Where("count")
                                  : table.Where("ports");
  std::string knocks = Counted(static_cast<uint32_t>(count), "knock");
  if (static_cast<uint32_t>(count) > ports.size()) {
    return table.Fail(
        where, knocks + " need " +
                   Counted(static_cast<uint32_t>(count), "distinct port") +
                   "; the knock range " + ports.ToString() + " has " +
                   std::to_string(ports.size()));
  }
  SequenceShape shape{ports.first, ports.size(), count};
  double bits = SequenceBits(shape);
  if (bits < kMinSequenceBits) {
    return table.Fail(where, knocks + " over " + Counted(ports.size(), "port") +
                                 (count == 1 ? " carries " : " carry ") +
                                 FormatBits(bits) +
                                 " bits; knock/v1 needs at least 96");
  }
  return true;
}

}  // namespace knock
