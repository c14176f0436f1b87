#pragma once
// Address-bound knocks (knock/v1 section 7): a sequence whose last part is
// derived with the address the grant is for, so that a sniffed or raced
// copy opens nothing for any other address.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/knock_sequence.h"
#include "common/pair_key.h"

namespace knock {

/// The most ports head and tail may hold together: a grant's evidence.
inline constexpr size_t kMaxBoundPorts = 64;

/// The most address bytes a binding hashes: a family byte and 16 bytes.
inline constexpr size_t kMaxBindingBytes = 17;

/// A bound sequence: the head (count ports, no address in it, what the
/// server's table matches) and the tail (BoundTailCount ports, derived with
/// the address), both in derivation order.
struct BoundSequence {
  std::vector<uint16_t> head;
  std::vector<uint16_t> tail;
};

/// Knocks in the tail of a sequence of `count` knocks: ceil(count / 2), so
/// the tail alone carries at least half of the sequence's bits.
int BoundTailCount(int count);

/// The address as the derivation hashes it: the family byte (4 or 6) and the
/// 4 or 16 address bytes in network order. An IPv4-mapped IPv6 address is
/// hashed as the IPv4 address it maps. Returns the length.
size_t BindingBytes(const IpAddress& address, uint8_t* out);

/// The head: section 3's stream under the label "knock/v1 bound head".
bool DeriveBoundHeadInto(const PairKey& key, const SequenceId& id,
                         const SequenceShape& shape, uint16_t* out,
                         std::string* err);

/// The tail for `bound_to`, BoundTailCount(shape.count) ports distinct from
/// each other and from `head`.
bool DeriveBoundTail(const PairKey& key, const SequenceId& id,
                     const SequenceShape& shape, const IpAddress& bound_to,
                     std::span<const uint16_t> head,
                     std::vector<uint16_t>* tail, std::string* err);

/// Head and tail for `bound_to`.
bool DeriveBoundSequence(const PairKey& key, const SequenceId& id,
                         const SequenceShape& shape, const IpAddress& bound_to,
                         BoundSequence* out, std::string* err);

/// The order a client sends them: the head's first port (it makes the
/// server track the source), the whole tail, then the rest of the head.
std::vector<uint16_t> BoundSendingOrder(const BoundSequence& sequence);

/// True when every port of `tail` is among `seen`: the server's check of a
/// bound grant's evidence. Runs in time independent of where a port matched.
bool TailAmong(std::span<const uint16_t> tail, std::span<const uint16_t> seen);

}  // namespace knock
