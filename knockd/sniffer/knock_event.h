#pragma once
// What the packet decoder hands the matcher: one knock, already checked.

#include <cstdint>

#include "common/ip_address.h"
#include "common/transport.h"

namespace knock {

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
