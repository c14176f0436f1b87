#include "knockd/sniffer/helper_queue.h"

namespace knock {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;

bool SameOwner(const SequenceOwner& a, const SequenceOwner& b) {
  return a.client == b.client && a.service == b.service &&
         a.window == b.window && a.slot == b.slot;
}

}  // namespace

HelperQueue::HelperQueue(uint64_t hash_seed) : hash_{hash_seed} {}

bool HelperQueue::PushUrgent(std::vector<uint8_t> message) {
  if (urgent_.size() >= kMaxUrgent) {
    ++stats_.urgent_dropped;
    return false;
  }
  urgent_.push_back(std::move(message));
  return true;
}

HelperQueue::Pending* HelperQueue::FindOrAdd(const MatchEvent& match,
                                             int64_t second) {
  for (Pending& pending : summaries_) {
    const RefusalSummary& s = pending.summary;
    if (s.second == second && s.verdict == match.verdict &&
        SameOwner(s.owner, match.owner))
      return &pending;
  }
  if (summaries_.size() >= kMaxSummaries) return nullptr;
  Pending& added = summaries_.emplace_back(
      Pending{{}, std::unordered_set<IpAddress, IpAddressHash>(0, hash_)});
  added.summary.verdict = match.verdict;
  added.summary.owner = match.owner;
  added.summary.second = second;
  if (match.verdict == Verdict::kReplay)
    added.summary.first_source = match.first_source;
  return &added;
}

void HelperQueue::AddRefusal(const MatchEvent& match, int64_t now_us) {
  Pending* pending = FindOrAdd(match, now_us / kMicrosPerSecond);
  if (pending == nullptr) {
    ++stats_.refusals_dropped;
    return;
  }
  ++stats_.refusals;
  RefusalSummary& s = pending->summary;
  if (s.count < UINT32_MAX) ++s.count;
  if (pending->sources.size() >= kMaxCountedSources) {
    // Sources beyond the bound may be new or not: the count becomes a
    // lower bound.
    if (pending->sources.count(match.source) == 0) s.sources_capped = true;
    return;
  }
  if (!pending->sources.insert(match.source).second) return;
  s.sources = static_cast<uint32_t>(pending->sources.size());
  if (s.addresses.size() < RefusalSummary::kMaxAddresses)
    s.addresses.push_back(match.source);
}

bool HelperQueue::Due(const Pending& pending, int64_t now_us, bool everything) {
  return everything || pending.summary.second < now_us / kMicrosPerSecond;
}

bool HelperQueue::HasWaiting(int64_t now_us, bool everything) const {
  if (!urgent_.empty()) return true;
  for (const Pending& pending : summaries_)
    if (Due(pending, now_us, everything)) return true;
  return false;
}

bool HelperQueue::Flush(int64_t now_us, bool everything, const SendFn& send) {
  while (!urgent_.empty()) {
    const SendResult result = send(urgent_.front());
    if (result != SendResult::kSent) return result == SendResult::kFull;
    urgent_.pop_front();
  }
  for (auto it = summaries_.begin(); it != summaries_.end();) {
    if (!Due(*it, now_us, everything)) {
      ++it;
      continue;
    }
    const SendResult result = send(EncodeRefusalSummary(it->summary));
    if (result != SendResult::kSent) return result == SendResult::kFull;
    ++stats_.summaries_sent;
    it = summaries_.erase(it);
  }
  return true;
}

}  // namespace knock
