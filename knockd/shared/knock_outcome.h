#pragma once
// What became of a completed sequence: the verdict both daemon processes,
// the used set and the audit log speak of. Plain data, no packet code.

#include <cstdint>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "knockd/shared/sequence_owner.h"

namespace knock {

/// What a completed sequence led to.
enum class Verdict {
  kGranted,        // first use: open the service
  kRefreshed,      // same source again while its grant is live: extend it
  kReplay,         // used before by another source (or after the grant)
  kExpiredWindow,  // a real sequence, but for a window older than skew
};

const char* VerdictName(Verdict verdict);

/// One completed sequence and what to do about it.
struct MatchEvent {
  Verdict verdict = Verdict::kGranted;
  IpAddress source;
  /// For a replay: the source that used the sequence first.
  IpAddress first_source;
  SequenceOwner owner;
  std::vector<uint16_t> ports;
  int64_t time_us = 0;
  /// For grants and refreshes: when the hole closes.
  int64_t expires_us = 0;
};

/// One decision about a completed sequence, with the client and service
/// names resolved, for logs and the audit trail.
struct KnockOutcome {
  MatchEvent match;
  std::string client;
  std::string service;
  /// False when the firewall refused to open (the reason is logged).
  bool enforced = true;
  /// Why the helper refused a grant it will not open for a policy reason
  /// (knock/v1 section 7): "unbound_refused", "bound_mismatch"; or for a
  /// window the used set pruned before the clock went back: "pruned_window".
  /// Else empty.
  std::string refused;
};

}  // namespace knock
