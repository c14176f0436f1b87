#include "knockd/helper/live_grants.h"

#include <algorithm>

namespace knock {

namespace {

// Sweeping when the book has doubled since the last sweep costs O(1) per
// grant on average; below this size a sweep is not worth it.
constexpr size_t kMinSweepSize = 64;

}  // namespace

void LiveGrants::Add(const Grant& grant, int64_t now_ms) {
  const int64_t deadline_ms = now_ms + std::max<int64_t>(grant.timeout_ms, 0);
  grants_[{grant.source.ToString(), grant.service}] = Entry{grant, deadline_ms};
  if (grants_.size() >= std::max(kMinSweepSize, 2 * size_after_sweep_))
    SweepExpired(now_ms);
}

void LiveGrants::SweepExpired(int64_t now_ms) {
  std::erase_if(grants_, [now_ms](const auto& item) {
    return item.second.deadline_ms <= now_ms;
  });
  size_after_sweep_ = grants_.size();
}

std::vector<Grant> LiveGrants::Remaining(int64_t now_ms) {
  SweepExpired(now_ms);
  std::vector<Grant> live;
  live.reserve(grants_.size());
  for (const auto& [key, entry] : grants_) {
    Grant grant = entry.grant;
    grant.timeout_ms = entry.deadline_ms - now_ms;
    live.push_back(std::move(grant));
  }
  // Shortest first: where two entries cover one element (a grant of an
  // earlier run and its refresh by this one), the longer is applied last
  // and wins.
  std::stable_sort(live.begin(), live.end(),
                   [](const Grant& a, const Grant& b) {
                     return a.timeout_ms < b.timeout_ms;
                   });
  return live;
}

void LiveGrants::Clear() {
  grants_.clear();
  size_after_sweep_ = 0;
}

}  // namespace knock
