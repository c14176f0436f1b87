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

}  // namespace

SourceTable::SourceTable(uint32_t max_sources, int history, uint64_t hash_seed)
    : max_sources_(std::max<uint32_t>(max_sources, 1)),
      history_(std::max(history, 1)),
      hash_{hash_seed},
      index_(IndexCapacityFor(max_sources_), kNone),
      index_mask_(index_.size() - 1) {
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

uint32_t SourceTable::AllocateRecord() {
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
  // Full: the least recently active source of the lowest level goes.
  int level = 0;
  while (lists_[level].head == kNone) ++level;
  const uint32_t victim = lists_[level].head;
  ++evictions_;
  if (level >= 2) ++evictions_with_progress_;
  Remove(victim);
  free_.pop_back();
  return victim;
}

uint32_t SourceTable::Insert(const IpAddress& source) {
  const uint32_t id = AllocateRecord();
  Record& record = records_[id];
  record.source = source;
  record.length = 0;
  record.level = 0;
  record.live = true;
  LinkTail(id);
  size_t b = Bucket(source);
  while (index_[b] != kNone) b = (b + 1) & index_mask_;
  index_[b] = id;
  ++live_;
  return id;
}

void SourceTable::Remove(uint32_t id) {
  Record& record = records_[id];
  if (!record.live) return;
  EraseFromIndex(id);
  Unlink(id);
  record.live = false;
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

uint32_t SourceTable::RemoveIdle(uint32_t now_ms, uint32_t timeout_ms) {
  uint32_t removed = 0;
  for (RecencyList& list : lists_) {
    // Each list is in order of last activity, so the idle ones lead it.
    while (list.head != kNone &&
           now_ms - records_[list.head].last_ms > timeout_ms) {
      Remove(list.head);
      ++removed;
    }
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

void SourceTable::Unlink(uint32_t id) {
  Record& record = records_[id];
  RecencyList& list = lists_[record.level];
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
  RecencyList& list = lists_[record.level];
  record.prev = list.tail;
  record.next = kNone;
  if (list.tail != kNone)
    records_[list.tail].next = id;
  else
    list.head = id;
  list.tail = id;
}

void SourceTable::Touch(uint32_t id, int level) {
  Unlink(id);
  records_[id].level = static_cast<uint8_t>(std::clamp(level, 0, kLevels - 1));
  LinkTail(id);
}

size_t SourceTable::MemoryBytes() const {
  return records_.capacity() * sizeof(Record) +
         knocks_.capacity() * sizeof(RememberedKnock) +
         index_.capacity() * sizeof(uint32_t) +
         free_.capacity() * sizeof(uint32_t);
}

}  // namespace knock
