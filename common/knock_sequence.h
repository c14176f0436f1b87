#pragma once
// The one-time knock sequence of knock/v1 section 3: which ports, in which
// order, a client knocks in a given time window and slot.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/pair_key.h"

namespace knock {

/// The shape of every sequence a server accepts: the knock range
/// [base, base + range) and the number of knocks.
struct SequenceShape {
  uint16_t base = 0;
  uint32_t range = 0;
  int count = 0;
};

/// Which sequence: the time window, the slot within it and the service.
struct SequenceId {
  uint64_t window = 0;
  uint8_t slot = 0;
  std::string_view service;
};

/// The window holding `unix_seconds` for windows of `step_seconds`.
uint64_t WindowAt(int64_t unix_seconds, int64_t step_seconds);

/// Derives the `shape.count` distinct ports, in sending order. Fails only for
/// a shape no configuration can hold (count beyond range, empty service).
bool DeriveSequence(const PairKey& key, const SequenceId& id,
                    const SequenceShape& shape, std::vector<uint16_t>* ports,
                    std::string* err);
/// DeriveSequence into `out`, which holds `shape.count` ports, without
/// touching the heap: the server derives hundreds of thousands at start.
bool DeriveSequenceInto(const PairKey& key, const SequenceId& id,
                        const SequenceShape& shape, uint16_t* out,
                        std::string* err);

/// Bits of authenticator a sequence of this shape carries: count * log2(range).
double SequenceBits(const SequenceShape& shape);

}  // namespace knock
