#include "knockd/helper/ruleset_change_filter.h"

#include <linux/netfilter.h>

namespace knock {

std::string RulesetChange::Describe() const {
  if (!known) return "unknown (notifications were lost)";
  return "process " + (process.empty() ? std::string("?") : process) +
         " (pid " + std::to_string(pid) + ")";
}

void RulesetChangeFilter::set_table(const std::string& table) {
  table_ = table;
  touched_ = false;
}

void RulesetChangeFilter::Feed(const NftablesEvent& event) {
  if (!event.is_generation) {
    touched_ =
        touched_ || (event.family == NFPROTO_INET && event.table == table_);
    return;
  }
  const bool touched = touched_;
  touched_ = false;
  // A kernel that does not name the committer (Debian 12's does): nobody
  // can tell ours from theirs, so the check runs; the guard bounds how
  // often it restores, so this cannot loop for ever.
  if (!touched) return;
  if (event.has_pid && !adopt_process_.empty() &&
      event.process == adopt_process_) {
    own_outer_pid_ = event.pid;
    adopt_process_.clear();
  }
  if (event.has_pid && (event.pid == own_pid_ ||
                        (own_outer_pid_ != 0 && event.pid == own_outer_pid_)))
    return;
  // A later foreign change wins the description; a lost-events one stays
  // the most cautious description.
  if (!due_ || change_.known) {
    change_.known = true;
    change_.pid = event.pid;
    change_.process = event.process;
  }
  due_ = true;
}

void RulesetChangeFilter::AdoptNextCommitBy(const std::string& process) {
  adopt_process_ = process;
}

void RulesetChangeFilter::Overran() {
  due_ = true;
  touched_ = false;
  change_ = RulesetChange{};
}

bool RulesetChangeFilter::TakeDue(RulesetChange* change) {
  if (!due_) return false;
  *change = change_;
  due_ = false;
  change_ = RulesetChange{};
  return true;
}

}  // namespace knock
