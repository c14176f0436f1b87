#pragma once
// Per-source knock history for the matcher: bounded in count and memory,
// and evicting so that no flood, however it is made, can push out a client
// in the middle of a burst (docs/SECURITY.md, "The source table under flood").

#include <cstdint>
#include <span>
#include <vector>

#include "common/ip_address.h"

namespace knock {

/// One knock remembered for a source: its port and the low 16 bits of its
/// time in milliseconds. Four bytes, so that a million sources with sixteen
/// knocks each stay small; 16 bits suffice because every remembered knock is
/// within twice seq_timeout (at most 30 s) of now, below the 65.5 s wrap.
struct RememberedKnock {
  uint16_t port;
  uint16_t time_ms16;
};
static_assert(sizeof(RememberedKnock) == 4);

/// How the table chooses whom to evict. The default is the protected
/// policy; tests switch the young pool off to show what it protects.
struct EvictionPolicy {
  /// Keep the newest sources (three quarters of the table) in a first-in,
  /// first-out young pool that is evicted from only when nothing older is
  /// left. Off: every source competes by level from its first knock.
  bool young_pool = true;
};

/// The recent knocks of up to `max_sources` sources, `history` knocks each,
/// oldest first. A source is young for its first `young_limit()` insertions
/// (counted in sources inserted after it, not in time); then it is old and
/// has a progress level: how many ports of one expected sequence its history
/// holds (capped). When the table is full the victim is, in this order: an
/// old source silent for longer than the timeout, the least recently active
/// old source of the lowest level, and only when no old source is left, the
/// oldest young one. So a source keeps its place until `young_limit()` other
/// sources have been inserted after it, whatever the table held and whatever
/// those sources knocked: a client's burst completes unless that many new
/// sources arrive during it.
class SourceTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr int kLevels = 8;

  SourceTable(uint32_t max_sources, int history, uint64_t hash_seed,
              EvictionPolicy policy = {});

  uint32_t Find(const IpAddress& source) const;
  /// Prefetching for a batch of knocks (knock_pipeline.cc): a lookup
  /// touches the source's bucket, record and history, three cache lines far
  /// apart, and a flood of random sources finds none of them in the cache.
  /// First the bucket of each knock of the batch, then, once those have
  /// come, the record and history of the source the bucket names: the
  /// lookups that follow find them in the cache. Only hints: they change
  /// nothing, and a stale one (the source evicted or moved meanwhile) costs
  /// one wasted line.
  /// `hash` is Hash(source): computed once for both.
  size_t Hash(const IpAddress& source) const { return hash_(source); }
  void PrefetchBucket(size_t hash) const;
  void PrefetchSource(size_t hash) const;
  /// Adds a source with no history, evicting one if the table is full.
  /// `now_ms` and `stale_after_ms` (seq_timeout) tell a stale source, whose
  /// knocks can no longer complete anything, from a live one.
  uint32_t Insert(const IpAddress& source, uint32_t now_ms,
                  uint32_t stale_after_ms);
  void Remove(uint32_t id);

  /// Appends a knock on `port` at `now_ms` (a wrapping millisecond clock),
  /// dropping the oldest one if the history is full.
  void Append(uint32_t id, uint16_t port, uint32_t now_ms);
  /// Forgets knocks more than `timeout_ms` (at most 30 s) before `now_ms`;
  /// returns true if anything was forgotten.
  bool ForgetOlderThan(uint32_t id, uint32_t now_ms, uint32_t timeout_ms);
  /// Removes every source whose newest knock is more than `timeout_ms`
  /// before `now_ms`. Its history can no longer count towards a sequence
  /// (ForgetOlderThan would clear it at its next knock), so it only held
  /// memory and a place in the table: without this, every source that ever
  /// knocked stayed until eviction, and a table under steady traffic grew
  /// to max_sources. Walks each level's recency list from its least
  /// recently active end, and the young pool (in order of arrival) whole.
  /// Returns how many went.
  uint32_t RemoveIdle(uint32_t now_ms, uint32_t timeout_ms);
  /// Forgets every remembered knock on one of `ports`.
  void ForgetPorts(uint32_t id, std::span<const uint16_t> ports);
  std::span<const RememberedKnock> History(uint32_t id) const {
    return {&knocks_[size_t{id} * history_], records_[id].length};
  }
  /// Sets the source's progress `level` (capped at kLevels - 1); an old
  /// source also becomes the most recently active of its level. A young one
  /// keeps its place in the young pool, which knocks cannot change.
  void Touch(uint32_t id, int level);
  int LevelOf(uint32_t id) const { return records_[id].level; }
  bool IsYoung(uint32_t id) const { return records_[id].state == kYoung; }

  uint32_t size() const { return live_; }
  /// How many sources the young pool holds at most (0 when it is off).
  uint32_t young_limit() const { return young_limit_; }
  uint64_t evictions() const { return evictions_; }
  /// Sources removed by RemoveIdle.
  uint64_t idle_removals() const { return idle_removals_; }
  /// Evictions of sources that held two or more ports of a sequence.
  uint64_t evictions_with_progress() const { return evictions_with_progress_; }
  /// Evictions of young sources: only a flood of more than young_limit()
  /// new sources within a source's youth causes them.
  uint64_t evictions_young() const { return evictions_young_; }
  /// Evictions of old sources silent for longer than the timeout.
  uint64_t evictions_stale() const { return evictions_stale_; }
  /// Bytes this table holds now (records, knocks and index).
  size_t MemoryBytes() const;

 private:
  /// A source's fixed part; its knocks live in `knocks_` at id * history.
  /// Laid out without padding (the 17-byte address, then the bytes, then
  /// the words): a million of them are 32 MB, not 36.
  enum State : uint8_t { kFree, kYoung, kOld };
  struct Record {
    IpAddress source;
    uint8_t length = 0;
    uint8_t level = 0;
    State state = kFree;
    /// The full time of the newest knock: a source silent for longer than
    /// the timeout is cleared whole, so 16-bit times never wrap unseen.
    uint32_t last_ms = 0;
    uint32_t prev = kNone;  // links in the young list or its level's list
    uint32_t next = kNone;
  };
  static_assert(sizeof(Record) == 32);
  /// A doubly linked recency list: head is the least recently active.
  struct RecencyList {
    uint32_t head = kNone;
    uint32_t tail = kNone;
  };

  size_t Bucket(const IpAddress& source) const;
  void Unlink(uint32_t id);
  static bool IdleLongerThan(const Record& record, uint32_t now_ms,
                             uint32_t timeout_ms);
  void LinkTail(uint32_t id);
  void EraseFromIndex(uint32_t id);
  uint32_t AllocateRecord(uint32_t now_ms, uint32_t stale_after_ms);
  uint32_t ChooseVictim(uint32_t now_ms, uint32_t stale_after_ms);
  void GraduateOldestYoung();
  RecencyList& ListOf(const Record& record);

  uint32_t max_sources_;
  int history_;
  IpAddressHash hash_;
  std::vector<Record> records_;
  std::vector<RememberedKnock> knocks_;
  std::vector<uint32_t> free_;
  /// Open addressing with linear probing; kNone marks an empty bucket.
  std::vector<uint32_t> index_;
  size_t index_mask_ = 0;
  uint32_t young_limit_;
  /// Young sources in insertion order: head is the oldest.
  RecencyList young_;
  uint32_t young_count_ = 0;
  RecencyList lists_[kLevels];
  uint32_t live_ = 0;
  uint64_t evictions_ = 0;
  uint64_t evictions_with_progress_ = 0;
  uint64_t evictions_young_ = 0;
  uint64_t evictions_stale_ = 0;
  uint64_t idle_removals_ = 0;
};

}  // namespace knock
