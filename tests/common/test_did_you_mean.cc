// "Did you mean": edit distance and the nearest known name.
#include <catch2/catch.hpp>

#include "common/did_you_mean.h"

TEST_CASE("EditDistance counts insertions, deletions and substitutions") {
  CHECK(knock::EditDistance("", "") == 0);
  CHECK(knock::EditDistance("abc", "") == 3);
  CHECK(knock::EditDistance("", "abc") == 3);
  CHECK(knock::EditDistance("kitten", "sitting") == 3);
  CHECK(knock::EditDistance("tabel", "table") == 2);
  CHECK(knock::EditDistance("sequence_timeout", "seq_timeout") == 5);
  CHECK(knock::EditDistance("same", "same") == 0);
}

TEST_CASE("DidYouMean suggests the nearest key for a near miss") {
  const std::vector<std::string_view> knock_keys = {
      "ports", "count", "protocol",    "step",       "skew",
      "slots", "slack", "seq_timeout", "max_sources"};
  CHECK(knock::DidYouMean("sequence_timeout", knock_keys) == "seq_timeout");
  CHECK(knock::DidYouMean("port", knock_keys) == "ports");
  CHECK(knock::DidYouMean("protcol", knock_keys) == "protocol");
  CHECK(knock::DidYouMean("max_source", knock_keys) == "max_sources");
  CHECK(knock::DidYouMean("slot", knock_keys) == "slots");
}

TEST_CASE("DidYouMean always suggests a difference in case alone") {
  CHECK(knock::DidYouMean("IP", {"port", "ip"}) == "ip");
  CHECK(knock::DidYouMean("Count", {"count"}) == "count");
}

TEST_CASE("DidYouMean stays quiet when nothing is close") {
  const std::vector<std::string_view> keys = {"ports", "count", "step"};
  CHECK(knock::DidYouMean("colour", keys).empty());
  CHECK(knock::DidYouMean("interfaces", keys).empty());
  CHECK(knock::DidYouMean("xy", {"ab"}).empty());
  CHECK(knock::DidYouMean("anything", {}).empty());
}

TEST_CASE("DidYouMean breaks ties by order") {
  CHECK(knock::DidYouMean("slxx", {"slot", "slab"}) == "slot");
  CHECK(knock::DidYouMean("slxx", {"slab", "slot"}) == "slab");
}
