#pragma once
// The client's memory of sequences it has sent (knock/v1 section 5): a
// (server public key, service, window, slot) is never sent twice, even by two
// knock processes running at once.

#include <cstdint>
#include <string>

#include "common/x25519_key.h"

namespace knock {

/// The sequences of one server, service and time window: what a slot is
/// chosen within. `label` ("bastion/ssh") only names it in messages.
struct SlotScope {
  PublicKey server_key;
  std::string service;
  int64_t step_seconds = 30;
  uint64_t window = 0;
  std::string label;
};

/// $XDG_STATE_HOME/knock/used, or ~/.local/state/knock/used.
std::string DefaultClientStatePath();

/// The lowest slot of `scope` not yet recorded in the state file at `path`,
/// without recording it (for --dry-run). A missing file means nothing was
/// sent. When all `slots` are used the error says so and how long to wait
/// (`now_unix` is the clock's time).
bool PeekFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                  int64_t now_unix, int* slot, std::string* err);

/// As PeekFreeSlot, but records the slot before returning it, under an
/// exclusive lock, so that no other knock process can pick it too.
bool ReserveFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                     int64_t now_unix, int* slot, std::string* err);

/// Records the pinned `slot` (--slot); fails if it was already sent.
bool ReserveSlot(const std::string& path, const SlotScope& scope, int slot,
                 int64_t now_unix, std::string* err);

}  // namespace knock
