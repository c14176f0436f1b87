// Decoding nftables change notifications from raw netlink datagrams.
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "knockd/helper/nftables_event.h"
#include "nftables_netlink_fixture.h"

using nft_fixture::Datagram;
using nft_fixture::Generation;
using nft_fixture::ObjectMessage;

TEST_CASE("object changes name their table, generations their committer",
          "[nftables_event]") {
  const std::vector<uint8_t> datagram =
      Datagram({ObjectMessage(NFT_MSG_NEWTABLE, NFPROTO_INET, "knockd"),
                ObjectMessage(NFT_MSG_DELRULE, NFPROTO_IPV4, "filter"),
                Generation(4242, "nft")});
  std::vector<knock::NftablesEvent> events;
  REQUIRE(
      knock::ParseNftablesEvents(datagram.data(), datagram.size(), &events));
  REQUIRE(events.size() == 3);
  CHECK(events[0].message == NFT_MSG_NEWTABLE);
  CHECK(events[0].family == NFPROTO_INET);
  CHECK(events[0].table == "knockd");
  CHECK_FALSE(events[0].is_generation);
  CHECK(events[1].message == NFT_MSG_DELRULE);
  CHECK(events[1].family == NFPROTO_IPV4);
  CHECK(events[1].table == "filter");
  CHECK(events[2].is_generation);
  CHECK(events[2].has_pid);
  CHECK(events[2].pid == 4242);
  CHECK(events[2].process == "nft");
}

TEST_CASE("a generation without a committer says so", "[nftables_event]") {
  const std::vector<uint8_t> datagram =
      Datagram({Generation(0, "", /*with_pid=*/false)});
  std::vector<knock::NftablesEvent> events;
  REQUIRE(
      knock::ParseNftablesEvents(datagram.data(), datagram.size(), &events));
  REQUIRE(events.size() == 1);
  CHECK(events[0].is_generation);
  CHECK_FALSE(events[0].has_pid);
}

TEST_CASE("other subsystems and lookups are skipped", "[nftables_event]") {
  std::vector<uint8_t> conntrack =
      ObjectMessage(NFT_MSG_NEWTABLE, NFPROTO_INET, "knockd");
  nlmsghdr header;
  memcpy(&header, conntrack.data(), sizeof header);
  header.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | 0;
  memcpy(conntrack.data(), &header, sizeof header);
  const std::vector<uint8_t> datagram = Datagram(
      {conntrack, ObjectMessage(NFT_MSG_GETTABLE, NFPROTO_INET, "knockd"),
       ObjectMessage(NFT_MSG_DELSETELEM, NFPROTO_INET, "knockd")});
  std::vector<knock::NftablesEvent> events;
  REQUIRE(
      knock::ParseNftablesEvents(datagram.data(), datagram.size(), &events));
  REQUIRE(events.size() == 1);
  CHECK(events[0].message == NFT_MSG_DELSETELEM);
}

TEST_CASE("a truncated datagram keeps what came before and fails",
          "[nftables_event]") {
  const std::vector<uint8_t> first =
      ObjectMessage(NFT_MSG_DELTABLE, NFPROTO_INET, "knockd");
  const std::vector<uint8_t> whole = Datagram({first, Generation(7, "nft")});
  for (size_t cut = 1; cut < whole.size(); ++cut) {
    // Cut between the two messages, the datagram is whole.
    if (cut == first.size()) continue;
    std::vector<knock::NftablesEvent> events;
    const bool ok = knock::ParseNftablesEvents(whole.data(), cut, &events);
    CHECK_FALSE(ok);
    CHECK(events.size() <= 1);
  }
}

TEST_CASE("an attribute that overruns its message fails", "[nftables_event]") {
  std::vector<uint8_t> message =
      ObjectMessage(NFT_MSG_DELTABLE, NFPROTO_INET, "knockd");
  // The first attribute's length, just past the nfgenmsg, made too large.
  const size_t at = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  uint16_t huge = 0x4000;
  memcpy(message.data() + at, &huge, sizeof huge);
  std::vector<knock::NftablesEvent> events;
  CHECK_FALSE(
      knock::ParseNftablesEvents(message.data(), message.size(), &events));
  CHECK(events.empty());
}

TEST_CASE("a table name without its NUL is read within its attribute",
          "[nftables_event]") {
  std::vector<uint8_t> message = ObjectMessage(NFT_MSG_NEWCHAIN, NFPROTO_INET,
                                               "knockd", /*terminate=*/false);
  std::vector<knock::NftablesEvent> events;
  REQUIRE(knock::ParseNftablesEvents(message.data(), message.size(), &events));
  REQUIRE(events.size() == 1);
  CHECK(events[0].table == "knockd");
}
