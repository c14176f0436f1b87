#pragma once
// The client's memory of sequences it has sent (knock/v1 section 5): a
// (server public key, service, window, slot) is never sent twice, even by two
// knock processes running at once.

#include <cstdint>
#include <string>
#include <thread>

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

/// A slot's record from its reservation until it is on disk. Reserving
/// writes the record into the state file under the state lock, so that
/// every other knock process already sees the slot as used (the kernel's
/// page cache is shared, and it survives this process being killed); the
/// lock stays held until Settle() has made the record durable. The knocks
/// can therefore leave while the disk flush is still under way, and still
/// no knock process can pick the slot again: one that wants it waits for
/// the lock, which goes only with a durable record.
class PendingRecord {
 public:
  PendingRecord() = default;
  PendingRecord(const PendingRecord&) = delete;
  PendingRecord& operator=(const PendingRecord&) = delete;
  /// Settles what is still pending (an error is lost): the lock is never
  /// released before the record is durable.
  ~PendingRecord();

  /// Takes the lock on "<path>.lock", making the directory as needed.
  bool Open(const std::string& path, std::string* err);
  /// Writes `text` at `offset` of the state file, in place: visible at
  /// once to any process that reads the file, not yet durable.
  bool WriteAt(size_t offset, const std::string& text, std::string* err);
  /// Starts making what was written durable on a thread of its own, so
  /// that the knocks can leave and the port be probed meanwhile.
  void StartSettling();
  /// Makes what was written durable (waiting for StartSettling's thread),
  /// then releases the file and the lock. Once it failed, it keeps failing
  /// with the same error.
  bool Settle(std::string* err);

 private:
  std::string path_, error_;
  int lock_fd_ = -1, file_fd_ = -1;
  bool written_ = false;
  std::thread syncer_;
  int sync_errno_ = 0;
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
/// exclusive lock, so that no other knock process can pick it too. The
/// record is durable when it returns.
bool ReserveFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                     int64_t now_unix, int* slot, std::string* err);
/// The same, leaving the record visible but not yet durable in `pending`
/// (which holds the lock until pending->Settle()).
bool ReserveFreeSlot(const std::string& path, const SlotScope& scope, int slots,
                     int64_t now_unix, int* slot, PendingRecord* pending,
                     std::string* err);

/// Records the pinned `slot` (--slot); fails if it was already sent.
bool ReserveSlot(const std::string& path, const SlotScope& scope, int slot,
                 int64_t now_unix, std::string* err);
/// The same, leaving the record pending in `pending`.
bool ReserveSlot(const std::string& path, const SlotScope& scope, int slot,
                 int64_t now_unix, PendingRecord* pending, std::string* err);

}  // namespace knock
