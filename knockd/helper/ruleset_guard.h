#pragma once
// Puts the daemon's nftables table back when someone else changes or
// deletes it (`nft flush ruleset`, `systemctl restart nftables`): the fail
// closed rules first, then every live grant with the time it has left.

#include <cstdint>
#include <deque>
#include <string>

#include "knockd/helper/live_grants.h"
#include "knockd/helper/ruleset_change_filter.h"
#include "knockd/helper/ruleset_monitor.h"
#include "knockd/shared/firewall.h"

namespace knock {

/// What one restore did, for the log and the audit log.
struct Restoration {
  RulesetChange change;
  /// Live grants put back, and those the firewall refused (with why).
  size_t grants = 0;
  std::vector<std::string> grant_errors;
};

/// Watches `source` for changes to `inet <table>` made by any process but
/// `own_pid`, and restores the table through the firewall.
class RulesetGuard {
 public:
  /// `source` must outlive the guard.
  RulesetGuard(RulesetEventSource* source, std::string table, uint32_t own_pid);

  enum class Outcome { kNothing, kRestored, kFailed };

  int fd() const { return source_->fd(); }
  LiveGrants& grants() { return grants_; }
  /// A reload named another table: watch that one; the old one's grants
  /// were flushed with it.
  void Retarget(const std::string& table);
  /// Reads the notifications of the daemon's own first setup of the table,
  /// just made, and takes the pid the kernel gave its commit (named
  /// `own_process`) as the daemon's own: in a pid namespace it is not
  /// getpid(), and every grant would otherwise look like someone else's.
  bool AdoptOwnSetup(const std::string& own_process, std::string* err);
  /// Reads the waiting notifications and restores when they are due.
  /// kFailed (with `err`) when the table could not be put back, or another
  /// program keeps changing it (more than 10 times in 10 s): the daemon
  /// must stop.
  Outcome OnReadable(Firewall* firewall, const FirewallLayout& layout,
                     int64_t now_ms, Restoration* done, std::string* err);
  /// Re-installs `layout` (the drops), then re-opens every live grant for
  /// what remains of it. A grant that fails is reported, not fatal: its
  /// hole stays closed.
  bool Restore(Firewall* firewall, const FirewallLayout& layout, int64_t now_ms,
               Restoration* done, std::string* err);

 private:
  /// True when this restore would be one too many in a short time: the
  /// table is being fought over, and restoring again would loop.
  bool TooMany(int64_t now_ms);
  /// Reads the notifications of the restore just made, ignoring an
  /// overrun they caused.
  bool DrainOwnRestore(std::string* err);

  RulesetEventSource* source_;
  RulesetChangeFilter filter_;
  LiveGrants grants_;
  std::deque<int64_t> recent_restores_ms_;
};

}  // namespace knock
