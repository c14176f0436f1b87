// The helper's book of live grants: what a restored table is refilled with.
#include <catch2/catch.hpp>
#include <string>

#include "knockd/helper/live_grants.h"

namespace {

constexpr int64_t kT0Ms = 1764000000000;

knock::Grant MakeGrant(const std::string& source, const std::string& service,
                       int64_t timeout_ms) {
  knock::Grant grant;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(source, &grant.source, &err));
  grant.ports = {{knock::Transport::kTcp, 22}};
  grant.timeout_ms = timeout_ms;
  grant.service = service;
  return grant;
}

}  // namespace

TEST_CASE("live grants come back with the time they have left",
          "[live_grants]") {
  knock::LiveGrants book;
  book.Add(MakeGrant("198.18.0.2", "ssh", 4000), kT0Ms);
  book.Add(MakeGrant("198.18.0.2", "web", 1000), kT0Ms);
  const std::vector<knock::Grant> live = book.Remaining(kT0Ms + 1500);
  REQUIRE(live.size() == 1);
  CHECK(live[0].service == "ssh");
  CHECK(live[0].timeout_ms == 2500);
  CHECK(book.size() == 1);
  CHECK(book.Remaining(kT0Ms + 4000).empty());
}

TEST_CASE("a refresh replaces the deadline, shorter or longer",
          "[live_grants]") {
  knock::LiveGrants book;
  book.Add(MakeGrant("198.18.0.2", "ssh", 4000), kT0Ms);
  book.Add(MakeGrant("198.18.0.2", "ssh", 4000), kT0Ms + 3000);
  REQUIRE(book.Remaining(kT0Ms + 5000).size() == 1);
  CHECK(book.Remaining(kT0Ms + 5000)[0].timeout_ms == 2000);
  book.Clear();
  CHECK(book.Remaining(kT0Ms).empty());
}

TEST_CASE("expired grants do not pile up", "[live_grants]") {
  knock::LiveGrants book;
  // Each grant is over before the next arrives: the book stays small.
  for (int i = 0; i < 10000; ++i) {
    book.Add(MakeGrant("198.18." + std::to_string(i / 250) + "." +
                           std::to_string(i % 250 + 1),
                       "ssh", 1),
             kT0Ms + 2 * i);
    CHECK(book.size() <= 128);
  }
  // Control: live ones are all kept.
  knock::LiveGrants live;
  for (int i = 0; i < 1000; ++i)
    live.Add(MakeGrant("198.19." + std::to_string(i / 250) + "." +
                           std::to_string(i % 250 + 1),
                       "ssh", 60000),
             kT0Ms);
  CHECK(live.size() == 1000);
}

TEST_CASE("the longest of two grants of one element is applied last",
          "[live_grants]") {
  knock::LiveGrants book;
  book.Add(MakeGrant("198.18.0.2", "ssh", 9000), kT0Ms);
  book.Add(MakeGrant("198.18.0.2", "tcp/22", 3000), kT0Ms);
  const std::vector<knock::Grant> live = book.Remaining(kT0Ms);
  REQUIRE(live.size() == 2);
  CHECK(live[0].timeout_ms == 3000);
  CHECK(live[1].timeout_ms == 9000);
}
