#pragma once
// The heart of knockd (knock/v1 sections 4-5): turns a stream of knocks into
// grants, refreshes and refusals, with no cryptography per packet.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "knockd/shared/knock_outcome.h"
#include "knockd/shared/replay_store.h"
#include "knockd/shared/sequence_table.h"
#include "knockd/shared/server_config.h"
#include "knockd/sniffer/grant_forward_limit.h"
#include "knockd/sniffer/knock_event.h"
#include "knockd/sniffer/source_table.h"

namespace knock {

/// Counters for logs and `knockd replay`.
struct MatcherStats {
  uint64_t knocks = 0;
  uint64_t duplicates_ignored = 0;
  uint64_t noise_ignored = 0;  // knocks of untracked sources on no sequence
  uint64_t sequences_completed = 0;
  uint64_t grants = 0;
  uint64_t refreshes = 0;
  uint64_t replays = 0;
  uint64_t expired = 0;
  /// Completions not sent to the helper: copies of a bound head beyond the
  /// limit, and refreshes sooner than a second after the last.
  uint64_t grants_held_back = 0;
};

/// Matches knocks against the sequence table per source. Owns the
/// per-source state; shares the replay store with the daemon, which outlives
/// configuration reloads.
class KnockMatcher {
 public:
  /// `config` and `store` must outlive the matcher (or the next Reconfigure).
  /// `eviction` is for tests that show what the default policy protects.
  KnockMatcher(const ServerConfig& config, ReplayStore* store,
               uint64_t hash_seed, EvictionPolicy eviction = {});
  /// Derives the sequence table with the server's private key.
  bool Init(const PrivateKey& server_key, std::string* err);
  /// Takes a reloaded configuration: a new table, the same per-source
  /// progress when the knock settings that shape it are unchanged.
  bool Reconfigure(const ServerConfig& config, const PrivateKey& server_key,
                   std::string* err);
  /// The same without a key: the table is the helper's image, and later
  /// images come through LoadTable.
  bool Reconfigure(const ServerConfig& config, SequenceTableImage image,
                   std::string* err);
  /// Takes the port tables the helper derived (at start and whenever its
  /// windows roll); per-source progress carries over, so a sequence spanning
  /// the swap still completes. On failure the table is unchanged.
  bool LoadTable(SequenceTableImage image, std::string* err);

  /// Rolls the table to the window of `now_us`; prunes the replay store.
  /// Returns true when the window changed.
  bool AdvanceTo(int64_t now_us);
  /// Centres the table on the window of `now_us`, backward too: after the
  /// clock stepped. Prunes the replay store only when moving forward.
  /// Returns true when the window changed.
  bool RollToClock(int64_t now_us);
  /// Removes the sources that have not knocked for seq_timeout: they can
  /// no longer complete anything. Call about once a second.
  void ForgetIdleSources(int64_t now_us);
  /// Feeds one knock. Returns true with `*event` set when a sequence
  /// completed (granted or refused).
  bool OnKnock(const Knock& knock, MatchEvent* event);

  const MatcherStats& stats() const { return stats_; }
  const SourceTable& sources() const { return *sources_; }
  const SequenceTable& table() const { return table_; }

 private:
  /// Looks for a sequence containing `port` whose every port is in the
  /// history; raises `best_progress` to the most ports of one sequence seen.
  int FindComplete(std::span<const RememberedKnock> history, uint16_t port,
                   int* best_progress) const;
  /// `started_us`: when the source sent its first knock of the sequence.
  bool Decide(const Knock& knock, const ExpectedSequence& sequence,
              int64_t started_us, MatchEvent* event);
  uint32_t ToTableMs(int64_t time_us) const;
  /// Makes `table` the live one, centred where the old one was (or where
  /// the helper made it, before the first roll).
  void Adopt(SequenceTable table, uint64_t made_at_window);
  void AdoptConfig(const ServerConfig& config);
  /// Returns the free heap start-up left behind to the system.
  static void ReleaseFreedHeap();

  const ServerConfig* config_;
  ReplayStore* store_;
  GrantForwardLimit forward_limit_;
  uint64_t hash_seed_;
  EvictionPolicy eviction_;
  SequenceTable table_;
  std::unique_ptr<SourceTable> sources_;
  bool accept_tcp_ = true;
  bool accept_udp_ = false;
  MatcherStats stats_;
};

}  // namespace knock
