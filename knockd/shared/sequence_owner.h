#pragma once
// The name of one expected sequence, as the matcher, the helper's checks,
// the used set and the audit log all refer to it.

#include <cstdint>

namespace knock {

/// Who a sequence belongs to and what it opens.
struct SequenceOwner {
  uint32_t client = 0;   // index into ServerConfig::clients
  uint32_t service = 0;  // index into ServerConfig::services
  uint64_t window = 0;
  uint8_t slot = 0;
  /// knock/v1 section 7: this is a bound sequence's head, and the grant's
  /// address must match its tail.
  bool bound = false;
};

}  // namespace knock
