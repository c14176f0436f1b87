#pragma once
// Per-source knock history for the matcher: bounded in count and memory,
// and evicting so that a flood of spoofed sources cannot push out a source
// that is making real progress on a sequence.

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

/// The recent knocks of up to `max_sources` sources, `history` knocks each,
/// oldest first. Each source has a progress level: how many ports of one
/// expected sequence its history holds (capped). When the table is full the
/// least recently active source of the lowest level goes, so a spoofed flood
/// (one knock per source) evicts its own kind before anyone who has shown
/// two or more ports of a real sequence, and a real client climbs a level
/// with every knock.
class SourceTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr int kLevels = 8;

  SourceTable(uint32_t max_sources, int history, uint64_t hash_seed);

  uint32_t Find(const IpAddress& source) const;
  /// Adds a source with no history, evicting one if the table is full.
  uint32_t Insert(const IpAddress& source);
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
  /// recently active end, so the cost is the sources removed plus one per
  /// level. Returns how many went.
  uint32_t RemoveIdle(uint32_t now_ms, uint32_t timeout_ms);
  /// Forgets every remembered knock on one of `ports`.
  void ForgetPorts(uint32_t id, std::span<const uint16_t> ports);
  std::span<const RememberedKnock> History(uint32_t id) const {
    return {&knocks_[size_t{id} * history_], records_[id].length};
  }
  /// Marks the source as the most recently active of progress `level`
  /// (capped at kLevels - 1).
  void Touch(uint32_t id, int level);
  int LevelOf(uint32_t id) const { return records_[id].level; }

  uint32_t size() const { return live_; }
  uint64_t evictions() const { return evictions_; }
  /// Sources removed by RemoveIdle.
  uint64_t idle_removals() const { return idle_removals_; }
  /// Evictions of sources that held two or more ports of a sequence.
  uint64_t evictions_with_progress() const { return evictions_with_progress_; }
  /// Bytes this table holds now (records, knocks and index).
  size_t MemoryBytes() const;

 private:
  /// A source's fixed part; its knocks live in `knocks_` at id * history.
  /// Laid out without padding (the 17-byte address, then the bytes, then
  /// the words): a million of them are 32 MB, not 36.
  struct Record {
    IpAddress source;
    uint8_t length = 0;
    uint8_t level = 0;
    bool live = false;
    /// The full time of the newest knock: a source silent for longer than
    /// the timeout is cleared whole, so 16-bit times never wrap unseen.
    uint32_t last_ms = 0;
    uint32_t prev = kNone;  // links in its class's recency list
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
  void LinkTail(uint32_t id);
  void EraseFromIndex(uint32_t id);
  uint32_t AllocateRecord();

  uint32_t max_sources_;
  int history_;
  IpAddressHash hash_;
  std::vector<Record> records_;
  std::vector<RememberedKnock> knocks_;
  std::vector<uint32_t> free_;
  /// Open addressing with linear probing; kNone marks an empty bucket.
  std::vector<uint32_t> index_;
  size_t index_mask_ = 0;
  RecencyList lists_[kLevels];
  uint32_t live_ = 0;
  uint64_t evictions_ = 0;
  uint64_t evictions_with_progress_ = 0;
  uint64_t idle_removals_ = 0;
};

}  // namespace knock
