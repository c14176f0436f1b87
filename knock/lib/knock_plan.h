#pragma once
// Which sequence a knock sends: the time window now, an unused slot (or the
// pinned one) and the ports knock/v1 derives for them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/pair_key.h"
#include "knock/lib/client_config.h"
#include "knock/lib/client_state.h"

namespace knock {

/// Everything a plan is made from. `server` carries the sequence shape;
/// `state_path` is the client state file (DefaultClientStatePath()).
struct PlanRequest {
  const ServerEntry* server = nullptr;
  std::string service;
  PairKey pair_key;
  int64_t at_unix = 0;   // the time whose window is knocked (--at or now)
  int64_t now_unix = 0;  // the clock, for pruning and "wait 12s"
  std::optional<int> pinned_slot;
  bool record = true;  // false for --dry-run: the slot stays unused
  std::string state_path;
  /// Set: a bound sequence (knock/v1 section 7) for this address.
  std::optional<IpAddress> bound_to;
  // When set, the slot's record is left pending here (visible to every
  // other knock process, durable once the caller settles it) so that the
  // knocks can leave before the disk flush ends; when null it is durable
  // before MakeKnockPlan returns.
  PendingRecord* pending = nullptr;
};

/// One sequence, ready to send.
struct KnockPlan {
  uint64_t window = 0;
  int slot = 0;
  /// In sending order; for a bound sequence head[0], tail, head[1..].
  std::vector<uint16_t> ports;
  /// A bound sequence's address and its two parts, for --dry-run.
  std::optional<IpAddress> bound_to;
  std::vector<uint16_t> head;
  std::vector<uint16_t> tail;
};

/// Picks the slot (recording it unless `record` is false) and derives the
/// ports. Errors are one line: all slots used, a damaged state file, ...
bool MakeKnockPlan(const PlanRequest& request, KnockPlan* plan,
                   std::string* err);

}  // namespace knock
