#pragma once
// The audit log's view of live grants: nftables closes holes by itself, so
// the daemon learns of an expiry only by keeping the deadlines it granted.

#include <cstdint>
#include <string>
#include <vector>

#include "knockd/audit/audit_record.h"
#include "knockd/shared/knock_outcome.h"

namespace knock {

/// Deadlines of live grants per (client, service, source), so that an
/// "expiry" record follows each grant when its hole closes.
class AuditGrantTracker {
 public:
  /// Records a grant's or refresh's deadline; other verdicts are ignored.
  void Track(const KnockOutcome& event);
  /// The "expiry" records of grants whose deadline is at or before `now_us`,
  /// oldest deadline first; they are forgotten.
  std::vector<AuditRecord> TakeExpired(int64_t now_us);
  /// Forgets every grant (after a flush removed their holes).
  void Clear() { grants_.clear(); }
  size_t size() const { return grants_.size(); }

 private:
  /// One live hole.
  struct Live {
    std::string client;
    std::string service;
    IpAddress source;
    int64_t expires_us = 0;
  };
  std::vector<Live> grants_;
};

}  // namespace knock
