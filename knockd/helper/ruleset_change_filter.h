#pragma once
// Decides from nftables notifications whether someone else changed the
// daemon's table: every grant the daemon makes is a ruleset change too, and
// reacting to those would restore forever.

#include <cstdint>
#include <string>

#include "knockd/helper/nftables_event.h"

namespace knock {

/// Who changed the table, as the kernel named the committer.
struct RulesetChange {
  /// False when events were lost (the socket overran) or unreadable: the
  /// table may have changed, nobody knows by whom.
  bool known = false;
  uint32_t pid = 0;
  std::string process;
  /// "process NAME (pid N)" or "unknown (notifications were lost)".
  std::string Describe() const;
};

/// Follows the notification stream transaction by transaction: objects of
/// `inet <table>` touched, then the generation that commits them. A
/// transaction is ours when its committer's pid is `own_pid`, or the pid
/// the kernel showed for the daemon's own first commit (in a container the
/// kernel names the committer by its pid outside); one that is not ours and
/// touched the table makes a check due.
class RulesetChangeFilter {
 public:
  RulesetChangeFilter(std::string table, uint32_t own_pid)
      : table_(std::move(table)), own_pid_(own_pid) {}

  /// The table a reload named; what was seen of the old one is forgotten.
  void set_table(const std::string& table);
  void Feed(const NftablesEvent& event);
  /// The next commit that touches the table by a process named `process`
  /// is the daemon's own setup: whatever pid the kernel gives it is ours
  /// from then on. Only that one commit is taken.
  void AdoptNextCommitBy(const std::string& process);
  void StopAdopting() { adopt_process_.clear(); }
  /// Notifications were lost: the table must be checked.
  void Overran();
  /// True once (then cleared) when a check is due; `change` says why.
  bool TakeDue(RulesetChange* change);

 private:
  std::string table_;
  uint32_t own_pid_;
  /// The kernel's pid for this process when it differs from getpid().
  uint32_t own_outer_pid_ = 0;
  std::string adopt_process_;
  bool touched_ = false;
  bool due_ = false;
  RulesetChange change_;
};

}  // namespace knock
