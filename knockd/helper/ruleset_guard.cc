#include "knockd/helper/ruleset_guard.h"

#include <vector>

namespace knock {

namespace {

// More restores than this within the interval means another program
// rewrites the table as fast as the daemon restores it.
constexpr size_t kMaxRestoresInInterval = 10;
constexpr int64_t kRestoreIntervalMs = 10000;

}  // namespace

RulesetGuard::RulesetGuard(RulesetEventSource* source, std::string table,
                           uint32_t own_pid)
    : source_(source), filter_(std::move(table), own_pid) {}

void RulesetGuard::Retarget(const std::string& table) {
  filter_.set_table(table);
  grants_.Clear();
}

bool RulesetGuard::TooMany(int64_t now_ms) {
  while (!recent_restores_ms_.empty() &&
         recent_restores_ms_.front() <= now_ms - kRestoreIntervalMs)
    recent_restores_ms_.pop_front();
  recent_restores_ms_.push_back(now_ms);
  return recent_restores_ms_.size() > kMaxRestoresInInterval;
}

RulesetGuard::Outcome RulesetGuard::OnReadable(Firewall* firewall,
                                               const FirewallLayout& layout,
                                               int64_t now_ms,
                                               Restoration* done,
                                               std::string* err) {
  std::vector<NftablesEvent> events;
  bool overran = false;
  if (!source_->Read(&events, &overran, err)) return Outcome::kFailed;
  for (const NftablesEvent& event : events) filter_.Feed(event);
  if (overran) filter_.Overran();
  RulesetChange change;
  if (!filter_.TakeDue(&change)) return Outcome::kNothing;
  // Lost notifications are most often the daemon's own (a burst of
  // grants): they restore, but do not count as someone fighting over the
  // table.
  if (change.known && TooMany(now_ms)) {
    *err = "the firewall table was changed " +
           std::to_string(recent_restores_ms_.size()) + " times in " +
           std::to_string(kRestoreIntervalMs / 1000) + " s, last by " +
           change.Describe() + "; another program keeps rewriting it";
    return Outcome::kFailed;
  }
  done->change = change;
  if (!Restore(firewall, layout, now_ms, done, err)) return Outcome::kFailed;
  return DrainOwnRestore(err) ? Outcome::kRestored : Outcome::kFailed;
}

bool RulesetGuard::AdoptOwnSetup(const std::string& own_process,
                                 std::string* err) {
  filter_.AdoptNextCommitBy(own_process);
  // Kernel notifications are queued before the commit returns, so the
  // setup's are already waiting; a foreign change among them stays due.
  std::vector<NftablesEvent> events;
  bool overran = false;
  const bool read = source_->Read(&events, &overran, err);
  for (const NftablesEvent& event : events) filter_.Feed(event);
  if (overran) filter_.Overran();
  // Only the setup's own commit may be adopted: left armed, the next commit
  // of any process that calls itself knockd would pass for the daemon's.
  filter_.StopAdopting();
  return read;
}

bool RulesetGuard::DrainOwnRestore(std::string* err) {
  // A restore of many grants makes more notifications than the socket
  // holds; that overrun is the restore's own and must not start another
  // (which would overrun again, for ever). Someone else's change among
  // them is still seen: the events that did arrive are fed as usual.
  std::vector<NftablesEvent> events;
  bool overran = false;
  if (!source_->Read(&events, &overran, err)) return false;
  for (const NftablesEvent& event : events) filter_.Feed(event);
  return true;
}

bool RulesetGuard::Restore(Firewall* firewall, const FirewallLayout& layout,
                           int64_t now_ms, Restoration* done,
                           std::string* err) {
  // The drops come back in one transaction of their own, before any hole:
  // until then the port is as reachable as the change left it.
  if (!firewall->Setup(layout, err)) return false;
  for (const Grant& grant : grants_.Remaining(now_ms)) {
    std::string grant_err;
    if (firewall->Open(grant, &grant_err)) {
      ++done->grants;
    } else {
      done->grant_errors.push_back(grant.source.ToString() + " (" +
                                   grant.client + ", " + grant.service +
                                   "): " + grant_err);
    }
  }
  return true;
}

}  // namespace knock
