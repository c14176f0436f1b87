#pragma once
// What the sniffer has to tell the firewall helper, waiting for room in the
// channel, so that the capture loop never waits on the helper: a helper busy
// auditing a replay flood must not make the kernel drop the frames of the
// client who is knocking meanwhile.

#include <cstdint>
#include <deque>
#include <functional>
#include <unordered_set>
#include <vector>

#include "common/ip_address.h"
#include "knockd/shared/knock_outcome.h"
#include "knockd/shared/privsep_channel.h"
#include "knockd/shared/privsep_message.h"

namespace knock {

/// Counters of the queue's life, for the sniffer's exit line.
struct HelperQueueStats {
  uint64_t refusals = 0;          // refusals counted into summaries
  uint64_t summaries_sent = 0;    // refusal summary messages sent
  uint64_t refusals_dropped = 0;  // refusals no summary had room for
  uint64_t urgent_dropped = 0;    // grants or control messages refused
};

/// A bounded, non-blocking queue to the helper. Grants and control messages
/// (ready, reconfigured) go first, in order. Refusals are summed per owner,
/// verdict and second of the sniffer's clock (how many, from how many
/// distinct sources, the first few addresses); a summary goes out once its
/// second is over. What finds the queue full is dropped and counted: a
/// flood then costs counters, never memory or time.
class HelperQueue {
 public:
  static constexpr size_t kMaxUrgent = 1024;
  static constexpr size_t kMaxSummaries = 64;
  /// Distinct sources a summary counts exactly; beyond, "at least".
  static constexpr size_t kMaxCountedSources = 256;

  using SendFn = std::function<SendResult(const std::vector<uint8_t>&)>;

  explicit HelperQueue(uint64_t hash_seed = 0);

  /// Queues a grant or control message. False (and counted) when the
  /// queue already holds kMaxUrgent.
  bool PushUrgent(std::vector<uint8_t> message);
  /// Counts one refused sequence (kReplay or kExpiredWindow) into the
  /// summary of its owner, verdict and the second of `now_us`.
  void AddRefusal(const MatchEvent& match, int64_t now_us);
  /// Sends, without waiting, every urgent message and then the summaries of
  /// seconds before `now_us`'s (all summaries when `everything`), until
  /// `send` says the channel is full. False if `send` failed.
  bool Flush(int64_t now_us, bool everything, const SendFn& send);
  /// True when Flush(now_us, everything) has something to send.
  bool HasWaiting(int64_t now_us, bool everything = false) const;

  size_t urgent_size() const { return urgent_.size(); }
  size_t summary_count() const { return summaries_.size(); }
  const HelperQueueStats& stats() const { return stats_; }

 private:
  /// A summary being counted, with the distinct sources seen so far.
  struct Pending {
    RefusalSummary summary;
    std::unordered_set<IpAddress, IpAddressHash> sources;
  };
  Pending* FindOrAdd(const MatchEvent& match, int64_t second);
  static bool Due(const Pending& pending, int64_t now_us, bool everything);

  IpAddressHash hash_;
  std::deque<std::vector<uint8_t>> urgent_;
  std::deque<Pending> summaries_;
  HelperQueueStats stats_;
};

}  // namespace knock
