// How often one sequence may reach the helper: a few sources, each once a
// second, whatever floods the sniffer with copies.
#include <catch2/catch.hpp>

#include "knockd/sniffer/grant_forward_limit.h"

namespace {

constexpr int64_t kT0Us = 1764000000000000;

knock::IpAddress Source(int i) {
  const uint8_t bytes[4] = {198, 19, uint8_t(i >> 8), uint8_t(i)};
  return knock::IpAddress::V4(bytes);
}

knock::UsedKey Key(uint64_t window, uint8_t slot = 0) {
  return {knock::PublicKey{}, "ssh", window, slot};
}

}  // namespace

TEST_CASE("a sequence reaches the helper from a few sources only",
          "[grant_forward_limit]") {
  knock::GrantForwardLimit limit;
  for (int i = 0; i < 8; ++i)
    CHECK(limit.Admit(Key(10), Source(i), kT0Us, kT0Us));
  CHECK_FALSE(limit.Admit(Key(10), Source(8), kT0Us, kT0Us));
  CHECK_FALSE(
      limit.Admit(Key(10), Source(9), kT0Us + 5000000, kT0Us + 5000000));
  // Control: another slot, another window have room of their own.
  CHECK(limit.Admit(Key(10, 1), Source(8), kT0Us, kT0Us));
  CHECK(limit.Admit(Key(11), Source(8), kT0Us, kT0Us));
}

TEST_CASE("each source at most once a second", "[grant_forward_limit]") {
  knock::GrantForwardLimit limit;
  CHECK(limit.Admit(Key(10), Source(1), kT0Us, kT0Us));
  CHECK_FALSE(limit.Admit(Key(10), Source(1), kT0Us + 1, kT0Us + 1));
  CHECK_FALSE(limit.Admit(Key(10), Source(1), kT0Us + 999999, kT0Us + 999999));
  CHECK(limit.Admit(Key(10), Source(1), kT0Us + 1000000, kT0Us + 1000000));
  CHECK_FALSE(
      limit.Admit(Key(10), Source(1), kT0Us + 1500000, kT0Us + 1500000));
  // A clock stepped back does not hold the source off.
  CHECK(
      limit.Admit(Key(10), Source(1), kT0Us - 3600000000, kT0Us - 3600000000));
}

TEST_CASE("old windows are forgotten", "[grant_forward_limit]") {
  knock::GrantForwardLimit limit;
  for (int i = 0; i < 8; ++i) limit.Admit(Key(10), Source(i), kT0Us, kT0Us);
  limit.Admit(Key(12), Source(0), kT0Us, kT0Us);
  CHECK(limit.sequences() == 2);
  limit.PruneBefore(11);
  CHECK(limit.sequences() == 1);
  CHECK(limit.Admit(Key(10), Source(8), kT0Us, kT0Us));
}

TEST_CASE("a source that started earlier takes the place of a later one",
          "[grant_forward_limit]") {
  knock::GrantForwardLimit limit;
  // Eight copies complete first, each started after the client's first
  // knock at kT0Us.
  for (int i = 1; i <= 8; ++i)
    CHECK(limit.Admit(Key(10), Source(i), kT0Us + 500, kT0Us + 100 * i));
  CHECK(limit.Admit(Key(10), Source(0), kT0Us + 900, kT0Us));
  // Control: one that started later than all of them finds no place.
  CHECK_FALSE(limit.Admit(Key(10), Source(9), kT0Us + 900, kT0Us + 850));
  // The latest starter (Source(8)) was the one replaced.
  CHECK_FALSE(limit.Admit(Key(10), Source(20), kT0Us + 900, kT0Us + 800));
  CHECK(limit.Admit(Key(10), Source(21), kT0Us + 900, kT0Us + 650));
}
