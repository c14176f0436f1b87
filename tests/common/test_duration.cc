// Durations: a positive whole number and ms, s, m or h.
#include <catch2/catch.hpp>

#include "common/duration.h"

namespace {

int64_t Ms(const std::string& text) {
  int64_t ms = -1;
  std::string err;
  INFO(text);
  REQUIRE(knock::ParseDurationMs(text, &ms, &err));
  return ms;
}

std::string ParseError(const std::string& text) {
  int64_t ms = 0;
  std::string err;
  REQUIRE_FALSE(knock::ParseDurationMs(text, &ms, &err));
  return err;
}

}  // namespace

TEST_CASE("ParseDurationMs reads every unit") {
  CHECK(Ms("250ms") == 250);
  CHECK(Ms("30s") == 30000);
  CHECK(Ms("5m") == 300000);
  CHECK(Ms("1h") == 3600000);
  CHECK(Ms("010s") == 10000);
  CHECK(Ms("87600h") == int64_t{87600} * 3600000);
}

TEST_CASE("ParseDurationMs refuses what is not a positive duration") {
  CHECK(ParseError("30x") == "not a duration \"30x\" (use ms, s, m or h)");
  CHECK(ParseError("30") == "not a duration \"30\" (use ms, s, m or h)");
  CHECK(ParseError("1.5s") == "not a duration \"1.5s\" (use ms, s, m or h)");
  CHECK(ParseError("30 s") == "not a duration \"30 s\" (use ms, s, m or h)");
  CHECK(ParseError("30S") == "not a duration \"30S\" (use ms, s, m or h)");
  CHECK(ParseError("0s") == "not a duration \"0s\" (it must be positive)");
  CHECK(ParseError("") ==
        "not a duration \"\" (a positive whole number, then ms, s, m or h)");
  CHECK(ParseError("-5s") ==
        "not a duration \"-5s\" (a positive whole number, then ms, s, m or "
        "h)");
  CHECK(ParseError("s") ==
        "not a duration \"s\" (a positive whole number, then ms, s, m or h)");
  CHECK(ParseError("87601h") == "not a duration \"87601h\" (at most 87600h)");
  CHECK(ParseError("99999999999999999999999ms") ==
        "not a duration \"99999999999999999999999ms\" (at most 87600h)");
}

TEST_CASE("FormatDurationMs picks the largest exact unit") {
  CHECK(knock::FormatDurationMs(30000) == "30s");
  CHECK(knock::FormatDurationMs(1500) == "1500ms");
  CHECK(knock::FormatDurationMs(300000) == "5m");
  CHECK(knock::FormatDurationMs(90000) == "90s");
  CHECK(knock::FormatDurationMs(7200000) == "2h");
  CHECK(knock::FormatDurationMs(1) == "1ms");
  CHECK(knock::FormatDurationMs(0) == "0ms");
}

TEST_CASE("FormatDurationMs round-trips through ParseDurationMs") {
  for (int64_t ms : {1, 999, 1000, 61000, 60000, 3600000, 5400000}) {
    CHECK(Ms(knock::FormatDurationMs(ms)) == ms);
  }
}
