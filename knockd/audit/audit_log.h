#pragma once
// The writer of the tamper-evident audit log (docs/AUDIT.md): JSON Lines,
// each record sealed under an evolving key, chained, crash-safe, rotated by
// logrotate or by size without breaking the chain.

#include <cstdint>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "knockd/audit/audit_line.h"
#include "knockd/audit/audit_record.h"
#include "knockd/audit/audit_seal.h"

namespace knock {

/// An open audit log and its sealing state file. Every Append takes an
/// exclusive lock, reads the state, writes one line with one write(),
/// evolves the key and replaces the state, so `knockd flush` can append
/// while the daemon runs and a crash leaves at worst one incomplete line.
class AuditLog {
 public:
  AuditLog() = default;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  /// Opens (creating) `log_path` and checks the state at `key_path`, which
  /// `knockd audit init` made. Repairs what a crash left: an incomplete
  /// last line gets a newline and a "recovered" record; a state one record
  /// behind the log catches up.
  bool Open(const std::string& log_path, const std::string& key_path,
            std::string* err);
  /// Rotates once the file holds at least this many bytes; 0: never.
  void set_max_bytes(uint64_t max_bytes) { max_bytes_ = max_bytes; }
  /// Seals and writes one record. A file that logrotate moved away is
  /// reopened first; a new file begins with a "file" record continuing the
  /// chain.
  bool Append(const AuditRecord& record, std::string* err);
  /// A group commit: seals `records` in order, writes them with one write()
  /// and replaces the sealing state once (one fsync for the batch). A crash
  /// in between leaves the state behind the log by at most the batch, which
  /// the next Open or Append catches up.
  bool AppendAll(const std::vector<AuditRecord>& records, std::string* err);
  /// Renames the current file to "<log>.<first seq, 12 digits>"; the next
  /// record starts a new file.
  bool Rotate(std::string* err);
  /// What Open and Append repaired, for the daemon's log; clears them.
  std::vector<std::string> TakeNotes();

  bool is_open() const { return log_fd_.valid(); }
  const std::string& path() const { return log_path_; }

 private:
  bool Lock(std::string* err);
  void Unlock();
  bool OpenFile(std::string* err);
  bool ReopenIfMoved(std::string* err);
  bool Repair(AuditSealState* state, int64_t time_us, std::string* err);
  /// Advances `state` over the complete lines of `tail` it sealed but did
  /// not record (a crash between writing a batch and replacing the state).
  bool CatchUp(const std::string& tail, AuditSealState* state,
               std::string* err);
  bool RotateLocked(std::string* err);
  bool WriteSealed(const AuditRecord& record, AuditSealState* state,
                   std::string* err);
  /// Seals `records` into one buffer, advancing `state` in memory.
  std::string SealAll(const std::vector<AuditRecord>& records,
                      AuditSealState* state);
  bool WriteBytes(const std::string& bytes, std::string* err);
  bool FileSize(uint64_t* size, std::string* err);

  std::string log_path_;
  std::string key_path_;
  UniqueFd log_fd_;
  UniqueFd lock_fd_;
  uint64_t max_bytes_ = 0;
  std::vector<std::string> notes_;
};

}  // namespace knock
