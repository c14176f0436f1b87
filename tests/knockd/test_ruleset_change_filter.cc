// Which nftables transactions make the daemon check its table: someone
// else's that touched it, never its own.
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <catch2/catch.hpp>

#include "knockd/helper/ruleset_change_filter.h"

namespace {

constexpr uint32_t kOwnPid = 100;
constexpr uint32_t kNftPid = 4242;

knock::NftablesEvent Object(uint8_t message, const std::string& table,
                            uint8_t family = NFPROTO_INET) {
  knock::NftablesEvent event;
  event.message = message;
  event.family = family;
  event.table = table;
  return event;
}

knock::NftablesEvent Commit(uint32_t pid, const std::string& process = "nft") {
  knock::NftablesEvent event;
  event.message = NFT_MSG_NEWGEN;
  event.is_generation = true;
  event.has_pid = true;
  event.pid = pid;
  event.process = process;
  return event;
}

}  // namespace

TEST_CASE("someone else's change to the table makes a check due",
          "[ruleset_change_filter]") {
  knock::RulesetChangeFilter filter("knockd", kOwnPid);
  filter.Feed(Object(NFT_MSG_DELTABLE, "knockd"));
  filter.Feed(Commit(kNftPid));
  knock::RulesetChange change;
  REQUIRE(filter.TakeDue(&change));
  CHECK(change.Describe() == "process nft (pid 4242)");
  CHECK_FALSE(filter.TakeDue(&change));
}

TEST_CASE("the daemon's own transactions never do (no loop)",
          "[ruleset_change_filter]") {
  knock::RulesetChangeFilter filter("knockd", kOwnPid);
  knock::RulesetChange change;
  // A restore, then grants: all of them the daemon's.
  for (uint8_t message :
       {NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_DELRULE, NFT_MSG_NEWRULE,
        NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM})
    filter.Feed(Object(message, "knockd"));
  filter.Feed(Commit(kOwnPid, "knockd"));
  CHECK_FALSE(filter.TakeDue(&change));
  // Control: the same transaction from another process.
  filter.Feed(Object(NFT_MSG_NEWRULE, "knockd"));
  filter.Feed(Commit(kNftPid));
  CHECK(filter.TakeDue(&change));
}

TEST_CASE("changes to other tables are none of its business",
          "[ruleset_change_filter]") {
  knock::RulesetChangeFilter filter("knockd", kOwnPid);
  knock::RulesetChange change;
  filter.Feed(Object(NFT_MSG_DELTABLE, "filter"));
  filter.Feed(Object(NFT_MSG_DELTABLE, "knockd", NFPROTO_IPV4));
  filter.Feed(Commit(kNftPid));
  CHECK_FALSE(filter.TakeDue(&change));
  // A transaction that touched it earlier but was the daemon's does not
  // leak into the next one.
  filter.Feed(Object(NFT_MSG_NEWSETELEM, "knockd"));
  filter.Feed(Commit(kOwnPid));
  filter.Feed(Object(NFT_MSG_NEWRULE, "filter"));
  filter.Feed(Commit(kNftPid));
  CHECK_FALSE(filter.TakeDue(&change));
}

TEST_CASE("a committer the kernel does not name is someone else",
          "[ruleset_change_filter]") {
  knock::RulesetChangeFilter filter("knockd", kOwnPid);
  filter.Feed(Object(NFT_MSG_DELCHAIN, "knockd"));
  knock::NftablesEvent anonymous = Commit(0, "");
  anonymous.has_pid = false;
  filter.Feed(anonymous);
  knock::RulesetChange change;
  REQUIRE(filter.TakeDue(&change));
  CHECK(change.Describe() == "process ? (pid 0)");
}

TEST_CASE("lost notifications make a check due", "[ruleset_change_filter]") {
  knock::RulesetChangeFilter filter("knockd", kOwnPid);
  filter.Overran();
  knock::RulesetChange change;
  REQUIRE(filter.TakeDue(&change));
  CHECK(change.Describe() == "unknown (notifications were lost)");
  // A later named change does not hide that events were lost.
  filter.Overran();
  filter.Feed(Object(NFT_MSG_DELTABLE, "knockd"));
  filter.Feed(Commit(kNftPid));
  REQUIRE(filter.TakeDue(&change));
  CHECK(change.Describe() == "unknown (notifications were lost)");
}

TEST_CASE("after a reload the new table is watched",
          "[ruleset_change_filter]") {
  knock::RulesetChangeFilter filter("knockd", kOwnPid);
  filter.set_table("knockd2");
  knock::RulesetChange change;
  filter.Feed(Object(NFT_MSG_DELTABLE, "knockd"));
  filter.Feed(Commit(kNftPid));
  CHECK_FALSE(filter.TakeDue(&change));
  filter.Feed(Object(NFT_MSG_DELTABLE, "knockd2"));
  filter.Feed(Commit(kNftPid));
  CHECK(filter.TakeDue(&change));
}

TEST_CASE("in a pid namespace the daemon's own commits keep the outer pid",
          "[ruleset_change_filter]") {
  // The kernel names the committer by its pid outside the container.
  constexpr uint32_t kOuterPid = 25079;
  knock::RulesetChangeFilter filter("knockd", kOwnPid);
  knock::RulesetChange change;
  SECTION("adopted from the first setup: later grants are ours") {
    filter.AdoptNextCommitBy("knockd");
    filter.Feed(Object(NFT_MSG_NEWTABLE, "knockd"));
    filter.Feed(Commit(kOuterPid, "knockd"));
    filter.Feed(Object(NFT_MSG_NEWSETELEM, "knockd"));
    filter.Feed(Commit(kOuterPid, "knockd"));
    CHECK_FALSE(filter.TakeDue(&change));
    // Someone else's flush is still seen, and a second "knockd" with
    // another pid is not taken for the daemon.
    filter.Feed(Object(NFT_MSG_DELTABLE, "knockd"));
    filter.Feed(Commit(kOuterPid + 1, "knockd"));
    REQUIRE(filter.TakeDue(&change));
    CHECK(change.Describe() == "process knockd (pid 25080)");
  }
  SECTION("control: without adoption every own grant looks foreign") {
    filter.Feed(Object(NFT_MSG_NEWSETELEM, "knockd"));
    filter.Feed(Commit(kOuterPid, "knockd"));
    REQUIRE(filter.TakeDue(&change));
    CHECK(change.Describe() == "process knockd (pid 25079)");
  }
  SECTION("only a commit by the named process is adopted") {
    filter.AdoptNextCommitBy("knockd");
    filter.Feed(Object(NFT_MSG_DELTABLE, "knockd"));
    filter.Feed(Commit(kNftPid, "nft"));
    REQUIRE(filter.TakeDue(&change));
    filter.Feed(Object(NFT_MSG_NEWTABLE, "knockd"));
    filter.Feed(Commit(kNftPid, "nft"));
    CHECK(filter.TakeDue(&change));
  }
}
