#include "knockd/sniffer/source_table.h"

#include <algorithm>

namespace knock {

namespace {

size_t IndexCapacityFor(uint32_t max_sources) {
  // At most half full, so probe sequences stay short.
  size_t capacity = 16;
  while (capacity < size_t{max_sources} * 2) capacity *= 2;
  return capacity;
}

uint32_t YoungLimitFor(uint32_t max_sources, EvictionPolicy policy) {
  // A quarter stays for old sources, so that a table full of young ones
  // still has an old victim to give: the young are then never evicted.
  return policy.young_pool ? max_sources - max_sources / 4 : 0;
}

bool SilentLongerThan(uint32_t last_ms, uint32_t now_ms, uint32_t limit_ms) {
  // Signed: a knock captured a little out of order on another interface
  // (now before last) is not an age of 49 days.
  return static_cast<int32_t>(now_ms - last_ms) >
         static_cast<int32_t>(limit_ms);
}

}  // namespace

SourceTable::SourceTable(uint32_t max_sources, int history, uint64_t hash_seed,
                         EvictionPolicy policy)
    : max_sources_(std::max<uint32_t>(max_sources, 1)),
      history_(std::max(history, 1)),
      hash_{hash_seed},
      index_(IndexCapacityFor(max_sources_), kNone),
      index_mask_(index_.size() - 1),
      young_limit_(YoungLimitFor(max_sources_, policy)) {
  // Reserved, not touched: the pages become resident only as sources
  // arrive, and the table never reallocates (a reallocation would hold the
  // old and the new copy at once, 1.5 times the memory at the peak).
  records_.reserve(max_sources_);
  knocks_.reserve(size_t{max_sources_} * history_);
}

size_t SourceTable::Bucket(const IpAddress& source) const {
  return hash_(source) & index_mask_;
}

uint32_t SourceTable::Find(const IpAddress& source) const {
  for (size_t b = Bucket(source);; b = (b + 1) & index_mask_) {
    const uint32_t id = index_[b];
    if (id == kNone) return kNone;
    if (records_[id].source == source) return id;
  }
}

void SourceTable::PrefetchBucket(size_t hash) const {
  __builtin_prefetch(&index_[hash & index_mask_]);
}

void SourceTable::PrefetchSource(size_t hash) const {
  // The home bucket holds the source looked for, or else the empty bucket
  // that ends the probe, in most lookups: the index is at most half full.
  const uint32_t id = index_[hash & index_mask_];
  if (id == kNone) return;
  // Both ends: neither a record nor a history is aligned to a cache line.
  const auto* record = reinterpret_cast<const char*>(&records_[id]);
  __builtin_prefetch(record, 1);
  __builtin_prefetch(record + sizeof(Record) - 1, 1);
  const auto* history =
      reinterpret_cast<const char*>(&knocks_[size_t{id} * history_]);
  __builtin_prefetch(history, 1);
  __builtin_prefetch(history + sizeof(RememberedKnock) * history_ - 1, 1);
}

uint32_t SourceTable::AllocateRecord(uint32_t now_ms, uint32_t stale_after_ms) {
  if (!free_.empty()) {
    const uint32_t id = free_.back();
    free_.pop_back();
    return id;
  }
  if (records_.size() < max_sources_) {
    records_.emplace_back();
    knocks_.resize(knocks_.size() + history_);
    return static_cast<uint32_t>(records_.size() - 1);
  }
  const uint32_t victim = ChooseVictim(now_ms, stale_after_ms);
  ++evictions_;
  if (records_[victim].level >= 2) ++evictions_with_progress_;
  Remove(victim);
  free_.pop_back();
  return victim;
}

uint32_t SourceTable::ChooseVictim(uint32_t now_ms, uint32_t stale_after_ms) {
  // A stale source holds nothing that can still complete, whatever its
  // level or age: it goes first. The head of each list is its least
  // recently active (or, for the young, its oldest), so looking at the heads
  // finds one if there is one.
  if (young_.head != kNone &&
      SilentLongerThan(records_[young_.head].last_ms, now_ms, stale_after_ms)) {
    ++evictions_stale_;
    return young_.head;
  }
  for (const RecencyList& list : lists_) {
    if (list.head == kNone) continue;
    if (SilentLongerThan(records_[list.head].last_ms, now_ms, stale_after_ms)) {
      ++evictions_stale_;
      return list.head;
    }
  }
  for (const RecencyList& list : lists_)
    if (list.head != kNone) return list.head;
  // Only young sources: the table is smaller than four, or the pool is so.
  ++evictions_young_;
  return young_.head;
}

void SourceTable::GraduateOldestYoung() {
  const uint32_t id = young_.head;
  Unlink(id);
  --young_count_;
  records_[id].state = kOld;
  LinkTail(id);
}

uint32_t SourceTable::Insert(const IpAddress& source, uint32_t now_ms,
                             uint32_t stale_after_ms) {
  const uint32_t id = AllocateRecord(now_ms, stale_after_ms);
  Record& record = records_[id];
  record.source = source;
  record.length = 0;
  record.level = 0;
  record.state = kYoung;
  record.last_ms = now_ms;
  LinkTail(id);
  ++young_count_;
  // One in, one out: the young pool is first in, first out, and nothing
  // but an insertion moves it, so no knock can age a young source faster.
  while (young_count_ > young_limit_) GraduateOldestYoung();
  size_t b = Bucket(source);
  while (index_[b] != kNone) b = (b + 1) & index_mask_;
  index_[b] = id;
  ++live_;
  return id;
}

void SourceTable::Remove(uint32_t id) {
  Record& record = records_[id];
  if (record.state == kFree) return;
  EraseFromIndex(id);
  if (record.state == kYoung) --young_count_;
  Unlink(id);
  record.state = kFree;
  record.length = 0;
  free_.push_back(id);
  --live_;
}

void SourceTable::EraseFromIndex(uint32_t id) {
  size_t hole = Bucket(records_[id].source);
  while (index_[hole] != id) hole = (hole + 1) & index_mask_;
  // Backward-shift deletion: no tombstones, so a flood of short-lived
  // sources cannot slowly fill the index with them.
  for (size_t next = (hole + 1) & index_mask_;;
       next = (next + 1) & index_mask_) {
    const uint32_t moving = index_[next];
    if (moving == kNone) break;
    const size_t home = Bucket(records_[moving].source);
    const bool stays = hole < next ? (home > hole && home <= next)
                                   : (home > hole || home <= next);
    if (stays) continue;
    index_[hole] = moving;
    hole = next;
  }
  index_[hole] = kNone;
}

void SourceTable::Append(uint32_t id, uint16_t port, uint32_t now_ms) {
  Record& record = records_[id];
  RememberedKnock* history = &knocks_[size_t{id} * history_];
  if (record.length == history_) {
    std::copy(history + 1, history + history_, history);
    --record.length;
  }
  history[record.length++] = {port, static_cast<uint16_t>(now_ms)};
  record.last_ms = now_ms;
}

bool SourceTable::ForgetOlderThan(uint32_t id, uint32_t now_ms,
                                  uint32_t timeout_ms) {
  Record& record = records_[id];
  if (record.length == 0) return false;
  if (now_ms - record.last_ms > timeout_ms) {
    record.length = 0;
    return true;
  }
  RememberedKnock* history = &knocks_[size_t{id} * history_];
  const auto now_ms16 = static_cast<uint16_t>(now_ms);
  int keep_from = 0;
  // Unsigned 16-bit differences handle the wrap: every age here is below
  // twice the timeout, so below 65.5 s.
  while (keep_from<record.length&& static_cast<uint16_t>(
             now_ms16 - history[keep_from].time_ms16)>
             timeout_ms)
    ++keep_from;
  if (keep_from == 0) return false;
  std::copy(history + keep_from, history + record.length, history);
  record.length = static_cast<uint8_t>(record.length - keep_from);
  return true;
}

bool SourceTable::IdleLongerThan(const Record& record, uint32_t now_ms,
                                 uint32_t timeout_ms) {
  // Signed: a knock captured slightly out of order is recent, not 49 days
  // old.
  return static_cast<int32_t>(now_ms - record.last_ms) >
         static_cast<int32_t>(timeout_ms);
}

uint32_t SourceTable::RemoveIdle(uint32_t now_ms, uint32_t timeout_ms) {
  uint32_t removed = 0;
  for (RecencyList& list : lists_) {
    // Each list is in order of last activity, so the idle ones lead it.
    while (list.head != kNone &&
           IdleLongerThan(records_[list.head], now_ms, timeout_ms)) {
      Remove(list.head);
      ++removed;
    }
  }
  // The young pool is in order of arrival, not of activity, so it is walked
  // whole; an idle young source has no burst left to protect.
  for (uint32_t id = young_.head; id != kNone;) {
    const uint32_t next = records_[id].next;
    if (IdleLongerThan(records_[id], now_ms, timeout_ms)) {
      Remove(id);
      ++removed;
    }
    id = next;
  }
  idle_removals_ += removed;
  return removed;
}

void SourceTable::ForgetPorts(uint32_t id, std::span<const uint16_t> ports) {
  Record& record = records_[id];
  RememberedKnock* history = &knocks_[size_t{id} * history_];
  RememberedKnock* end = std::remove_if(
      history, history + record.length, [ports](const RememberedKnock& k) {
        return std::find(ports.begin(), ports.end(), k.port) != ports.end();
      });
  record.length = static_cast<uint8_t>(end - history);
}

SourceTable::RecencyList& SourceTable::ListOf(const Record& record) {
  return record.state == kYoung ? young_ : lists_[record.level];
}

void SourceTable::Unlink(uint32_t id) {
  Record& record = records_[id];
  RecencyList& list = ListOf(record);
  if (record.prev != kNone)
    records_[record.prev].next = record.next;
  else
    list.head = record.next;
  if (record.next != kNone)
    records_[record.next].prev = record.prev;
  else
    list.tail = record.prev;
  record.prev = record.next = kNone;
}

void SourceTable::LinkTail(uint32_t id) {
  Record& record = records_[id];
  RecencyList& list = ListOf(record);
  record.prev = list.tail;
  record.next = kNone;
  if (list.tail != kNone)
    records_[list.tail].next = id;
  else
    list.head = id;
  list.tail = id;
}

void SourceTable::Touch(uint32_t id, int level) {
  Record& record = records_[id];
  const auto capped = static_cast<uint8_t>(std::clamp(level, 0, kLevels - 1));
  if (record.state == kYoung) {
    record.level = capped;
    return;
  }
  Unlink(id);
  record.level = capped;
  LinkTail(id);
}

size_t SourceTable::MemoryBytes() const {
  return records_.capacity() * sizeof(Record) +
         knocks_.capacity() * sizeof(RememberedKnock) +
         index_.capacity() * sizeof(uint32_t) +
         free_.capacity() * sizeof(uint32_t);
}

}  // namespace knock
