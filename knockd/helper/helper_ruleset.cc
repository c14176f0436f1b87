// The firewall helper's side of keeping its nftables table: watching the
// ruleset from the start, and putting the table back (or stopping) when
// another program changes it. Apart from helper.cc so that the helper's
// main loop stays about the sniffer.

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common/clock.h"
#include "knockd/helper/helper.h"
#include "knockd/helper/nftables_grant_listing.h"

namespace knockd {

bool Helper::WatchRuleset(std::string* err) {
  if (config_->firewall.backend != knock::FirewallBackend::kNftables)
    return true;
  if (!ruleset_monitor_.Open(err)) return false;
  ruleset_guard_ = std::make_unique<knock::RulesetGuard>(
      &ruleset_monitor_, config_->firewall.table, getpid());
  // Grants of an earlier run live on in the kept table; a flush must bring
  // them back too.
  std::vector<knock::Grant> kept;
  std::string list_err;
  if (!knock::ListNftablesGrants(config_->firewall.table, &kept, &list_err))
    logger_.Warning("grants of the earlier run are not restorable: " +
                    list_err);
  const int64_t now_ms = knock::SystemClock().NowMicros() / 1000;
  for (const knock::Grant& grant : kept)
    ruleset_guard_->grants().Add(grant, now_ms);
  return true;
}

bool Helper::AdoptOwnRulesetCommit(std::string* err) {
  if (!ruleset_guard_) return true;
  char name[16] = {};
  if (prctl(PR_GET_NAME, name) != 0) {
    *err = std::string("cannot read this process's name: ") + strerror(errno);
    return false;
  }
  return ruleset_guard_->AdoptOwnSetup(name, err);
}

void Helper::OnRulesetEvents() {
  if (config_->firewall.backend != knock::FirewallBackend::kNftables) {
    // A reload left nftables: there is no table of ours to keep.
    ruleset_guard_.reset();
    return;
  }
  knock::Restoration done;
  std::string err;
  const int64_t now_us = knock::SystemClock().NowMicros();
  switch (ruleset_guard_->OnReadable(firewall_.get(),
                                     knock::LayoutFor(*config_), now_us / 1000,
                                     &done, &err)) {
    case knock::RulesetGuard::Outcome::kNothing:
      return;
    case knock::RulesetGuard::Outcome::kFailed:
      // The sniffer is healthy: it is stopped through the channel, as on
      // SIGTERM (the helper may lack the power to kill it).
      err = "cannot restore firewall table inet " + config_->firewall.table +
            ": " + err;
      logger_.Error("stopping: " + err);
      Audit(knock::AuditStop(now_us, err));
      stopping_ = true;
      exit_status_ = 1;
      return;
    case knock::RulesetGuard::Outcome::kRestored:
      break;
  }
  for (const std::string& grant_err : done.grant_errors)
    logger_.Error("firewall (nftables) could not restore the grant of " +
                  grant_err);
  logger_.Warning("firewall table inet " + config_->firewall.table +
                  " was changed by " + done.change.Describe() +
                  "; restored with " + std::to_string(done.grants) +
                  " live grants");
  Audit(knock::AuditRestore(now_us, config_->firewall.table,
                            done.change.Describe(), done.grants));
}

}  // namespace knockd
