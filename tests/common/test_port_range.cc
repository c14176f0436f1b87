// Port ranges: "16384-32767", single ports, and every way to get one wrong.
#include <catch2/catch.hpp>

#include "common/port_range.h"

namespace {

std::string ParseError(const std::string& text) {
  knock::PortRange range;
  std::string err;
  REQUIRE_FALSE(knock::ParsePortRange(text, &range, &err));
  return err;
}

}  // namespace

TEST_CASE("ParsePortRange reads FIRST-LAST inclusive") {
  knock::PortRange range;
  std::string err;
  REQUIRE(knock::ParsePortRange("16384-32767", &range, &err));
  CHECK(range.first == 16384);
  CHECK(range.last == 32767);
  CHECK(range.size() == 16384);
  CHECK(range.ToString() == "16384-32767");
}

TEST_CASE("ParsePortRange reads a single port and the extremes") {
  knock::PortRange range;
  std::string err;
  REQUIRE(knock::ParsePortRange("22", &range, &err));
  CHECK(range == knock::PortRange{22, 22});
  CHECK(range.ToString() == "22");
  REQUIRE(knock::ParsePortRange("1-65535", &range, &err));
  CHECK(range.size() == 65535);
  REQUIRE(knock::ParsePortRange("7-7", &range, &err));
  CHECK(range.size() == 1);
}

TEST_CASE("ParsePortRange refuses malformed text, quoting it") {
  CHECK(ParseError("9-3") ==
        "not a port range \"9-3\" (the first port is above the last)");
  CHECK(ParseError("0-10") == "not a port range \"0-10\" (ports are 1-65535)");
  CHECK(ParseError("100-65536") ==
        "not a port range \"100-65536\" (ports are 1-65535)");
  CHECK(ParseError("") ==
        "not a port range \"\" (use FIRST-LAST, such as 16384-32767)");
  CHECK(ParseError("a-b") ==
        "not a port range \"a-b\" (use FIRST-LAST, such as 16384-32767)");
  CHECK(ParseError(" 1-2") ==
        "not a port range \" 1-2\" (use FIRST-LAST, such as 16384-32767)");
  CHECK(ParseError("1-2-3") ==
        "not a port range \"1-2-3\" (use FIRST-LAST, such as 16384-32767)");
  CHECK(ParseError("-5") ==
        "not a port range \"-5\" (use FIRST-LAST, such as 16384-32767)");
  CHECK(ParseError("+5") ==
        "not a port range \"+5\" (use FIRST-LAST, such as 16384-32767)");
  CHECK(ParseError("123456") ==
        "not a port range \"123456\" (use FIRST-LAST, such as 16384-32767)");
}

TEST_CASE("PortRange Contains and Overlaps are inclusive") {
  knock::PortRange range{100, 200};
  CHECK(range.Contains(100));
  CHECK(range.Contains(200));
  CHECK_FALSE(range.Contains(99));
  CHECK_FALSE(range.Contains(201));
  CHECK(range.Overlaps({200, 300}));
  CHECK(range.Overlaps({1, 100}));
  CHECK_FALSE(range.Overlaps({201, 300}));
}
