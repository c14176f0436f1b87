#include "knockd/audit/audit_grant_tracker.h"

#include <algorithm>

namespace knock {

void AuditGrantTracker::Track(const KnockOutcome& event) {
  const Verdict verdict = event.match.verdict;
  if (verdict != Verdict::kGranted && verdict != Verdict::kRefreshed) return;
  if (!event.enforced) return;
  for (Live& live : grants_) {
    if (live.client == event.client && live.service == event.service &&
        live.source == event.match.source) {
      live.expires_us = std::max(live.expires_us, event.match.expires_us);
      return;
    }
  }
  grants_.push_back({event.client, event.service, event.match.source,
                     event.match.expires_us});
}

std::vector<AuditRecord> AuditGrantTracker::TakeExpired(int64_t now_us) {
  std::vector<Live> expired;
  auto keep_end = std::stable_partition(
      grants_.begin(), grants_.end(),
      [now_us](const Live& live) { return live.expires_us > now_us; });
  expired.assign(keep_end, grants_.end());
  grants_.erase(keep_end, grants_.end());
  std::stable_sort(
      expired.begin(), expired.end(),
      [](const Live& a, const Live& b) { return a.expires_us < b.expires_us; });
  std::vector<AuditRecord> records;
  for (const Live& live : expired)
    records.push_back(
        AuditExpiry(live.expires_us, live.client, live.service, live.source));
  return records;
}

}  // namespace knock
