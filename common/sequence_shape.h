#pragma once
// The limits of a knock sequence's shape, checked the same way by both
// sides: a client that sent a shape the server refuses would knock in vain.

#include <string>

#include "common/port_range.h"

namespace knock {

/// knock/v1 section 3: what a sequence must carry at the least.
inline constexpr double kMinSequenceBits = 96;
/// The stream behind a sequence is finite (256 blocks), and the matcher keeps
/// count + slack knocks per source: a bound keeps both comfortable.
inline constexpr int kMaxKnockCount = 64;
/// Sequences per window; the slot is one byte of the derivation.
inline constexpr int kMaxSlots = 256;

/// Refuses a count outside 1..64, slots outside 1..256, more knocks than
/// ports, and count * log2(range) < 96 bits; `err` says which, e.g.
/// "8 knocks over 256 ports carry 64 bits; knock/v1 needs at least 96".
bool CheckSequenceShape(const PortRange& ports, int count, int slots,
                        std::string* err);

/// Only the two checks that depend on the range: distinct ports and bits.
bool CheckSequenceStrength(const PortRange& ports, int count, std::string* err);

/// "64" or "89.6": bits as the strength message shows them, rounded down.
std::string FormatBits(double bits);

}  // namespace knock
