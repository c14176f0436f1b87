#pragma once
// The firewall helper alone holds the server key and the pair keys. It
// derives every expected sequence, hands the sniffer only the port tables
// of the windows that can be live, and checks each grant's evidence by
// deriving its sequence anew: a sniffer can report a sequence it saw, never
// make one up.

#include <cstdint>
#include <span>
#include <string>

#include "common/x25519_key.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/shared/sequence_table.h"
#include "knockd/shared/server_config.h"

namespace knock {

/// What a grant's evidence shows.
enum class Evidence {
  kValid,
  /// The ports are not its owner's sequence: the sniffer lies.
  kForged,
  /// A bound head whose tail for the grant's address is not among the
  /// other ports seen: a copy raced or replayed from another address (the
  /// sniffer cannot know; it is not lying).
  kBoundElsewhere,
};

/// The helper's keyed sequence table: the windows [w - skew - 1, w + skew +
/// 1] (the next one before it starts, so the sniffer never lacks a live
/// window when time rolls ahead of the helper's timer), without a port
/// index.
class SequenceAuthority {
 public:
  /// Derives the pair keys of `config`'s clients with `server_key` (which
  /// the caller wipes).
  bool Init(const ServerConfig& config, const PrivateKey& server_key,
            std::string* err);
  /// Moves to the window of `now_window`; true when the held windows
  /// changed (the sniffer needs a new image).
  bool RollTo(uint64_t now_window) { return table_.RollTo(now_window); }
  bool rolled() const { return table_.rolled(); }
  /// The held windows, encoded for the sniffer: ports and owners, no key.
  std::string EncodedImage() const;
  /// A grant's evidence: its ports are exactly those of the sequence of its
  /// owner (client, service, window, slot), compared in constant time. The
  /// owner must have passed CheckSnifferRequest. For a bound owner the first
  /// count ports are the head and the others must hold the tail derived for
  /// the grant's source. `err` says what differs.
  Evidence CheckEvidence(const PrivsepMessage& grant, std::string* err) const;

 private:
  SequenceTable table_;
};

}  // namespace knock
