// The per-source table: lookups, bounded history, time-outs, the young pool
// and the eviction order (stale, then by progress level, young last).
#include <catch2/catch.hpp>
#include <random>

#include "knockd/sniffer/source_table.h"

namespace {

constexpr uint32_t kStaleMs = 10000;  // seq_timeout
// Every source competes by level from its first knock, as before the young
// pool: the order among old sources, and the control of the tests below.
constexpr knock::EvictionPolicy kLevelsOnly{.young_pool = false};

knock::IpAddress V4(uint32_t n) {
  const uint8_t bytes[4] = {198, 18, static_cast<uint8_t>(n >> 8),
                            static_cast<uint8_t>(n)};
  return knock::IpAddress::V4(bytes);
}

std::vector<uint16_t> Ports(const knock::SourceTable& table, uint32_t id) {
  std::vector<uint16_t> ports;
  for (const auto& k : table.History(id)) ports.push_back(k.port);
  return ports;
}

}  // namespace

TEST_CASE("sources are found, added and removed", "[source_table]") {
  knock::SourceTable table(100, 4, 1);
  CHECK(table.Find(V4(1)) == knock::SourceTable::kNone);
  const uint32_t a = table.Insert(V4(1), 0, kStaleMs);
  const uint32_t b = table.Insert(V4(2), 0, kStaleMs);
  CHECK(table.Find(V4(1)) == a);
  CHECK(table.Find(V4(2)) == b);
  table.Remove(a);
  CHECK(table.Find(V4(1)) == knock::SourceTable::kNone);
  CHECK(table.Find(V4(2)) == b);
  CHECK(table.size() == 1);
}

TEST_CASE("many inserts and removals keep every lookup right",
          "[source_table]") {
  knock::SourceTable table(1000, 2, 99);
  for (uint32_t round = 0; round < 20; ++round) {
    for (uint32_t i = 0; i < 1000; ++i)
      table.Insert(V4(round * 1000 + i), 0, kStaleMs);
    for (uint32_t i = 0; i < 1000; i += 2)
      table.Remove(table.Find(V4(round * 1000 + i)));
    for (uint32_t i = 1; i < 1000; i += 2)
      REQUIRE(table.Find(V4(round * 1000 + i)) != knock::SourceTable::kNone);
    for (uint32_t i = 1; i < 1000; i += 2)
      table.Remove(table.Find(V4(round * 1000 + i)));
    REQUIRE(table.size() == 0);
  }
}

TEST_CASE("history keeps the newest knocks, oldest first", "[source_table]") {
  knock::SourceTable table(10, 3, 1);
  const uint32_t id = table.Insert(V4(1), 0, kStaleMs);
  for (uint16_t port = 1; port <= 5; ++port) table.Append(id, port, port);
  CHECK(Ports(table, id) == std::vector<uint16_t>{3, 4, 5});
}

TEST_CASE("knocks older than the timeout are forgotten, across the wrap",
          "[source_table]") {
  knock::SourceTable table(10, 8, 1);
  const uint32_t id = table.Insert(V4(1), 0, kStaleMs);
  table.Append(id, 1, 0xfffffff0u);
  table.Append(id, 2, 0xfffffffau);
  table.Append(id, 3, 5);
  CHECK(table.ForgetOlderThan(id, 10, 20));  // ages 26, 16 and 5 ms
  CHECK(Ports(table, id) == std::vector<uint16_t>{2, 3});
  CHECK_FALSE(table.ForgetOlderThan(id, 10, 100));
}

TEST_CASE("a source silent longer than the timeout is cleared whole",
          "[source_table]") {
  knock::SourceTable table(10, 8, 1);
  const uint32_t id = table.Insert(V4(1), 0, kStaleMs);
  table.Append(id, 1, 1000);
  // 70 s later the 16-bit times alone would make the old knock look 4.5 s
  // old; the full time of the newest knock says otherwise.
  CHECK(table.ForgetOlderThan(id, 71000, 10000));
  CHECK(table.History(id).empty());
}

TEST_CASE("when full, the lowest level goes first, least recent within it",
          "[source_table]") {
  knock::SourceTable table(3, 4, 1, kLevelsOnly);
  const uint32_t progressing = table.Insert(V4(1), 0, kStaleMs);
  table.Touch(progressing, 3);
  table.Insert(V4(2), 0, kStaleMs);
  table.Insert(V4(3), 0, kStaleMs);
  table.Insert(V4(4), 0, kStaleMs);  // evicts V4(2), the oldest at level 0
  CHECK(table.Find(V4(2)) == knock::SourceTable::kNone);
  CHECK(table.Find(V4(1)) != knock::SourceTable::kNone);
  for (uint32_t i = 5; i < 1000; ++i) table.Insert(V4(i), 0, kStaleMs);
  CHECK(table.Find(V4(1)) != knock::SourceTable::kNone);
  CHECK(table.evictions_with_progress() == 0);
  CHECK(table.size() == 3);
}

TEST_CASE("a table full of progress evicts its least recent",
          "[source_table]") {
  knock::SourceTable table(2, 4, 1, kLevelsOnly);
  table.Touch(table.Insert(V4(1), 0, kStaleMs), 2);
  table.Touch(table.Insert(V4(2), 0, kStaleMs), 5);
  table.Insert(V4(3), 0, kStaleMs);
  CHECK(table.Find(V4(1)) == knock::SourceTable::kNone);
  CHECK(table.Find(V4(2)) != knock::SourceTable::kNone);
  CHECK(table.evictions_with_progress() == 1);
}

TEST_CASE("the young pool is three quarters of the table", "[source_table]") {
  CHECK(knock::SourceTable(65536, 12, 1).young_limit() == 49152);
  CHECK(knock::SourceTable(1000, 12, 1).young_limit() == 750);
  CHECK(knock::SourceTable(1000, 12, 1, kLevelsOnly).young_limit() == 0);
}

TEST_CASE("a young source is evicted by nothing but young_limit insertions",
          "[source_table]") {
  // Before it, a table full of old sources at the highest level, all active
  // now; after it, new sources that climb to the highest level at once.
  knock::SourceTable table(100, 12, 3);
  uint32_t next = 1000;
  for (int i = 0; i < 200; ++i)
    table.Touch(table.Insert(V4(next++), 0, kStaleMs), 7);
  const uint32_t client = table.Insert(V4(1), 0, kStaleMs);
  table.Touch(client, 1);
  for (uint32_t i = 0; i < table.young_limit(); ++i) {
    table.Touch(table.Insert(V4(next++), 1, kStaleMs), 7);
    REQUIRE(table.Find(V4(1)) == client);
  }
  CHECK_FALSE(table.IsYoung(client));
  CHECK(table.evictions_young() == 0);
  // Old now, at level 1 below everyone: the next insertion takes it.
  table.Insert(V4(next++), 1, kStaleMs);
  CHECK(table.Find(V4(1)) == knock::SourceTable::kNone);
  CHECK(table.size() == 100);
}

TEST_CASE("without the young pool the same newcomer goes at once",
          "[source_table]") {
  knock::SourceTable table(100, 12, 3, kLevelsOnly);
  uint32_t next = 1000;
  for (int i = 0; i < 200; ++i)
    table.Touch(table.Insert(V4(next++), 0, kStaleMs), 7);
  table.Touch(table.Insert(V4(1), 0, kStaleMs), 1);
  table.Touch(table.Insert(V4(next++), 1, kStaleMs), 7);
  CHECK(table.Find(V4(1)) == knock::SourceTable::kNone);
}

TEST_CASE("knocks do not move a young source in its pool", "[source_table]") {
  knock::SourceTable table(4, 12, 3);  // three young, one old
  const uint32_t first = table.Insert(V4(1), 0, kStaleMs);
  table.Insert(V4(2), 0, kStaleMs);
  table.Insert(V4(3), 0, kStaleMs);
  table.Insert(V4(4), 0, kStaleMs);  // V4(1) is now old
  CHECK_FALSE(table.IsYoung(first));
  const uint32_t second = table.Find(V4(2));
  for (int i = 0; i < 10; ++i) table.Touch(second, 7 - i % 3);
  CHECK(table.IsYoung(second));
  table.Insert(V4(5), 0, kStaleMs);  // evicts V4(1); V4(2) grows old
  CHECK(table.Find(V4(1)) == knock::SourceTable::kNone);
  CHECK_FALSE(table.IsYoung(second));
  CHECK(table.IsYoung(table.Find(V4(3))));
}

TEST_CASE("a stale source goes first, whatever its level or age",
          "[source_table]") {
  knock::SourceTable table(4, 12, 3);
  const uint32_t high = table.Insert(V4(1), 0, kStaleMs);
  table.Append(high, 100, 0);
  table.Touch(high, 7);
  for (uint32_t i = 2; i <= 4; ++i) {
    const uint32_t id = table.Insert(V4(i), 8000, kStaleMs);
    table.Append(id, 100, 8000);
  }
  // V4(1) is old, at level 7, and silent for 12 s: more than the timeout.
  table.Insert(V4(5), 12000, kStaleMs);
  CHECK(table.Find(V4(1)) == knock::SourceTable::kNone);
  CHECK(table.evictions_stale() == 1);
  CHECK(table.evictions_with_progress() == 1);
  // V4(2) has grown old; the oldest young one, V4(3), silent as long, is
  // looked at first.
  table.Insert(V4(6), 18500, kStaleMs);
  CHECK(table.Find(V4(3)) == knock::SourceTable::kNone);
  CHECK(table.Find(V4(2)) != knock::SourceTable::kNone);
  CHECK(table.evictions_stale() == 2);
  CHECK(table.evictions_young() == 0);
}

TEST_CASE("a table of fewer than four sources evicts its oldest young",
          "[source_table]") {
  knock::SourceTable table(2, 12, 3);  // all young
  table.Insert(V4(1), 0, kStaleMs);
  table.Insert(V4(2), 0, kStaleMs);
  table.Insert(V4(3), 0, kStaleMs);
  CHECK(table.Find(V4(1)) == knock::SourceTable::kNone);
  CHECK(table.Find(V4(2)) != knock::SourceTable::kNone);
  CHECK(table.evictions_young() == 1);
}

TEST_CASE("a million sources fit the memory goal", "[source_table]") {
  knock::SourceTable table(1000000, 16, 7);  // count 8 + slack 8
  for (uint32_t i = 0; i < 1000000; ++i) {
    uint8_t bytes[16] = {0x20, 0x01, 0x0d, 0xb8};
    std::memcpy(bytes + 12, &i, 4);
    table.Append(table.Insert(knock::IpAddress::V6(bytes), 1, kStaleMs), 1, 1);
  }
  CHECK(table.size() == 1000000);
  // The benchmark goal is 128 MB of RSS with a million sources tracked.
  CHECK(table.MemoryBytes() < size_t{128} * 1000 * 1000);
  // Exactly: 32-byte records, 16 four-byte knocks each, and an index of
  // 2^21 four-byte buckets (at most half full). A padded record would show.
  CHECK(table.MemoryBytes() == size_t{1000000} * 32 + size_t{1000000} * 16 * 4 +
                                   (size_t{1} << 21) * 4);
}

TEST_CASE("a knock captured a little out of order makes no one stale",
          "[source_table]") {
  knock::SourceTable table(2, 12, 3, kLevelsOnly);
  const uint32_t high = table.Insert(V4(1), 1000, kStaleMs);
  table.Append(high, 100, 1000);
  table.Touch(high, 7);
  table.Touch(table.Insert(V4(2), 1000, kStaleMs), 1);
  // 1 ms before V4(1)'s newest knock: not an age of 49 days.
  table.Insert(V4(3), 999, kStaleMs);
  CHECK(table.Find(V4(1)) == high);
  CHECK(table.Find(V4(2)) == knock::SourceTable::kNone);
  CHECK(table.evictions_stale() == 0);
}

// Random operations of every kind around a marked source: it stays until
// young_limit() insertions after its own, whatever else happens, and the
// table never holds more than max_sources or loses track of anyone.
TEST_CASE("random operations never evict a young source early",
          "[source_table]") {
  std::mt19937 rng(2024);
  for (int round = 0; round < 20; ++round) {
    const uint32_t max_sources = 4 + rng() % 300;
    knock::SourceTable table(max_sources, 12, rng());
    std::vector<uint32_t> live;  // addresses, by number
    uint32_t next = 0, now = 0;
    uint32_t marked = UINT32_MAX, inserts_since_marked = 0;
    for (int step = 0; step < 20000; ++step) {
      now += rng() % 3;
      const int what = static_cast<int>(rng() % 10);
      if (what < 5 || live.empty()) {
        const uint32_t n = next++;
        const uint32_t id = table.Insert(V4(n), now, kStaleMs);
        table.Append(id, static_cast<uint16_t>(rng()), now);
        table.Touch(id, static_cast<int>(rng() % 9));
        live.push_back(n);
        ++inserts_since_marked;
        if (marked == UINT32_MAX && step > 1000) {
          marked = n;
          inserts_since_marked = 0;
        }
      } else {
        const uint32_t n = live[rng() % live.size()];
        const uint32_t id = table.Find(V4(n));
        if (id == knock::SourceTable::kNone) continue;  // evicted
        if (what == 9 && n != marked) {
          table.Remove(id);
        } else {
          table.Append(id, static_cast<uint16_t>(rng()), now);
          table.Touch(id, static_cast<int>(rng() % 9));
        }
      }
      REQUIRE(table.size() <= max_sources);
      if (marked != UINT32_MAX && inserts_since_marked < table.young_limit())
        REQUIRE(table.Find(V4(marked)) != knock::SourceTable::kNone);
      if (marked != UINT32_MAX && inserts_since_marked >= table.young_limit()) {
        marked = UINT32_MAX;  // a new one is marked at the next insertion
        inserts_since_marked = 0;
      }
      if (live.size() > 4 * max_sources)
        live.erase(live.begin(), live.begin() + max_sources);
    }
    CHECK(table.evictions_young() == 0);
  }
}

TEST_CASE("idle sources are removed, active ones of every level stay",
          "[source_table]") {
  knock::SourceTable table(100, 4, 7);
  const uint32_t timeout_ms = 5000;
  // Three sources at t=1000 (levels 0, 2, 5), two at t=4000.
  for (uint32_t i = 0; i < 5; ++i) {
    const uint32_t t = i < 3 ? 1000 : 4000;
    const uint32_t id = table.Insert(V4(i), t, timeout_ms);
    table.Append(id, static_cast<uint16_t>(20000 + i), t);
    table.Touch(id, i == 1 ? 2 : i == 2 ? 5 : 0);
  }
  CHECK(table.RemoveIdle(6000, timeout_ms) == 0);
  CHECK(table.RemoveIdle(6001, timeout_ms) == 3);
  CHECK(table.size() == 2);
  CHECK(table.Find(V4(0)) == knock::SourceTable::kNone);
  CHECK(table.Find(V4(2)) == knock::SourceTable::kNone);
  CHECK(table.Find(V4(3)) != knock::SourceTable::kNone);
  CHECK(table.RemoveIdle(9001, timeout_ms) == 2);
  CHECK(table.size() == 0);
  CHECK(table.idle_removals() == 5);
}

TEST_CASE("under steady traffic the table stays at what one timeout holds",
          "[source_table]") {
  const uint32_t timeout_ms = 2000;
  // 300 new sources a second for an hour, each knocking once, as a light
  // spoofed flood does; the table removes idle ones once a second...
  knock::SourceTable swept(65536, 16, 3);
  // ...and, the control, one that never does grows to its bound.
  knock::SourceTable unswept(65536, 16, 3);
  uint32_t n = 0;
  size_t largest = 0;
  size_t memory_at_warmup = 0;
  for (uint32_t second = 1; second <= 3600; ++second) {
    for (int i = 0; i < 300; ++i, ++n) {
      for (knock::SourceTable* table : {&swept, &unswept}) {
        const uint32_t now_ms = second * 1000 + static_cast<uint32_t>(i);
        const uint32_t id = table->Insert(V4(n), now_ms, timeout_ms);
        table->Append(id, 20000, now_ms);
        table->Touch(id, 1);
      }
    }
    swept.RemoveIdle(second * 1000 + 999, timeout_ms);
    largest = std::max<size_t>(largest, swept.size());
    if (second == 60) memory_at_warmup = swept.MemoryBytes();
  }
  CHECK(largest <= 300 * (timeout_ms / 1000 + 1));
  CHECK(swept.MemoryBytes() == memory_at_warmup);
  CHECK(unswept.size() == 65536);
  CHECK(unswept.evictions() > 900000);
}
