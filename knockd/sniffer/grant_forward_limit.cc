#include "knockd/sniffer/grant_forward_limit.h"

#include <algorithm>

namespace knock {

bool GrantForwardLimit::Admit(const UsedKey& key, const IpAddress& source,
                              int64_t now_us, int64_t started_us) {
  std::vector<Forwarded>& sources = forwarded_[key];
  for (Forwarded& forwarded : sources) {
    if (!(forwarded.source == source)) continue;
    // A clock stepped back must not hold the source off until it catches up.
    if (now_us >= forwarded.last_us &&
        now_us - forwarded.last_us < kMinIntervalUs)
      return false;
    forwarded.last_us = now_us;
    return true;
  }
  if (sources.size() < kMaxSourcesPerSequence) {
    sources.push_back({source, now_us, started_us});
    return true;
  }
  auto latest = std::max_element(
      sources.begin(), sources.end(),
      [](const auto& a, const auto& b) { return a.started_us < b.started_us; });
  if (started_us >= latest->started_us) return false;
  *latest = {source, now_us, started_us};
  return true;
}

void GrantForwardLimit::PruneBefore(uint64_t oldest_window) {
  std::erase_if(forwarded_, [oldest_window](const auto& item) {
    return item.first.window < oldest_window;
  });
}

}  // namespace knock
