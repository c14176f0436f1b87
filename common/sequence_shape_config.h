#pragma once
// The configuration keys that shape a knock sequence (ports, count,
// protocol, step, slots): knockd's [knock] and knock's [server.NAME] must
// read and check them identically or the two sides would disagree.

#include <cstdint>

#include "common/config_table.h"
#include "common/port_range.h"
#include "common/transport.h"

namespace knock {

/// Where the shape keys go; every pointer holds its default on entry.
struct SequenceShapeFields {
  PortRange* ports;
  int* count;
  KnockProtocol* protocol;
  int64_t* step_seconds;
  int* slots;
};

/// Reads ports, count, protocol, step (whole seconds) and slots from `table`,
/// then refuses a shape that cannot hold or carry a sequence.
bool ReadSequenceShape(const ConfigTable& table,
                       const SequenceShapeFields& fields);

/// Refuses more knocks than ports, and count * log2(range) < 96 bits:
/// "8 knocks over 256 ports carry 64 bits; knock/v1 needs at least 96".
bool CheckSequenceStrength(const ConfigTable& table, const PortRange& ports,
                           int count);

}  // namespace knock
