#include "common/sequence_shape_config.h"

#include "common/sequence_shape.h"

namespace knock {

namespace {

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

}  // namespace

bool ReadSequenceShape(const ConfigTable& table,
                       const SequenceShapeFields& fields) {
  return table.Ports("ports", fields.ports) &&
         table.Integer("count", 1, kMaxKnockCount, fields.count) &&
         ReadProtocol(table, fields.protocol) &&
         ReadStep(table, fields.step_seconds) &&
         table.Integer("slots", 1, kMaxSlots, fields.slots) &&
         CheckSequenceStrength(table, *fields.ports, *fields.count);
}

bool CheckSequenceStrength(const ConfigTable& table, const PortRange& ports,
                           int count) {
  // Point at what the user wrote: the count if given, else the range.
  const toml::source_region where = table.Find("count") != nullptr
                                        ? table.Where("count")
                                        : table.Where("ports");
  std::string err;
  return CheckSequenceStrength(ports, count, &err) || table.Fail(where, err);
}

}  // namespace knock
