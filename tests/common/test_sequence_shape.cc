// The sequence-shape limits that client and server share.
#include <catch2/catch.hpp>

#include "common/sequence_shape.h"

namespace {

std::string ShapeError(knock::PortRange ports, int count, int slots) {
  std::string err;
  if (knock::CheckSequenceShape(ports, count, slots, &err)) return "";
  return err;
}

const knock::PortRange kDefaultRange{16384, 32767};

}  // namespace

TEST_CASE("The default shape and the limits themselves pass") {
  CHECK(ShapeError(kDefaultRange, 8, 4) == "");
  CHECK(ShapeError(kDefaultRange, 64, 256) == "");
  CHECK(ShapeError(kDefaultRange, 7, 1) == "");  // 7 * 14 bits = 98
}

TEST_CASE("Counts and slots beyond what the server accepts are refused") {
  CHECK(ShapeError(kDefaultRange, 300, 4) ==
        "300 knocks per sequence; knock/v1 allows 1 to 64");
  CHECK(ShapeError(kDefaultRange, 65, 4) ==
        "65 knocks per sequence; knock/v1 allows 1 to 64");
  CHECK(ShapeError(kDefaultRange, 0, 4) ==
        "0 knocks per sequence; knock/v1 allows 1 to 64");
  CHECK(ShapeError(kDefaultRange, 8, 257) ==
        "257 slots per window; knock/v1 allows 1 to 256");
  CHECK(ShapeError(kDefaultRange, 8, 0) ==
        "0 slots per window; knock/v1 allows 1 to 256");
}

TEST_CASE("Too few ports or too few bits are refused") {
  CHECK(ShapeError({1000, 1009}, 12, 4) ==
        "12 knocks need 12 distinct ports; the knock range 1000-1009 has 10");
  CHECK(ShapeError({1000, 1255}, 8, 4) ==
        "8 knocks over 256 ports carry 64 bits; knock/v1 needs at least 96");
}
