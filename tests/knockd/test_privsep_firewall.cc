// The sniffer's firewall: Open() becomes a grant message on the channel that
// the helper decodes to the same hole; nothing else reaches the helper.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "knockd/shared/firewall.h"
#include "knockd/shared/privsep_channel.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/sniffer/privsep_firewall.h"

namespace {

knock::IpAddress Address(const std::string& text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

knock::Grant GrantFor(const std::string& source) {
  knock::Grant grant;
  grant.source = Address(source);
  grant.timeout_ms = 120000;
  grant.client = "alice";
  grant.service = "ssh";
  grant.owner.client = 3;
  grant.owner.service = 1;
  grant.owner.window = 56666666;
  grant.owner.slot = 2;
  grant.sequence_ports = {16390, 20000, 30000, 17000,
                          25000, 18000, 31000, 22222};
  return grant;
}

}  // namespace

TEST_CASE("Open sends a grant the helper decodes to the same hole",
          "[privsep]") {
  knock::PrivsepChannel sniffer;
  knock::PrivsepChannel helper;
  std::string err;
  REQUIRE(knock::PrivsepChannel::MakePair(&sniffer, &helper, &err));
  knock::PrivsepFirewall firewall(&sniffer);
  CHECK(std::string(firewall.Name()) == "helper");
  CHECK(firewall.Setup(knock::FirewallLayout{}, &err));

  for (const char* source : {"198.18.0.7", "2001:db8::7"}) {
    INFO(source);
    const knock::Grant grant = GrantFor(source);
    INFO(err);
    REQUIRE(firewall.Open(grant, &err));

    std::vector<uint8_t> bytes;
    REQUIRE(helper.Receive(&bytes, nullptr, &err) ==
            knock::ReceiveResult::kMessage);
    knock::PrivsepMessage message;
    REQUIRE(knock::DecodeSnifferMessage(bytes.data(), bytes.size(), &message,
                                        &err));
    CHECK(message.type == knock::PrivsepMessageType::kGrant);
    CHECK(message.source == grant.source);
    CHECK(message.owner.client == grant.owner.client);
    CHECK(message.owner.service == grant.owner.service);
    CHECK(message.owner.window == grant.owner.window);
    CHECK(message.owner.slot == grant.owner.slot);
    CHECK(message.timeout_ms == grant.timeout_ms);
    // The evidence goes along: the helper derives the sequence and compares.
    CHECK(std::vector<uint16_t>(message.grant_ports().begin(),
                                message.grant_ports().end()) ==
          grant.sequence_ports);
  }
  // Exactly one message per Open.
  std::vector<uint8_t> bytes;
  CHECK(helper.Receive(&bytes, nullptr, &err) == knock::ReceiveResult::kNone);
}

TEST_CASE("Open fails when the helper is gone", "[privsep]") {
  knock::PrivsepChannel sniffer;
  knock::PrivsepChannel helper;
  std::string err;
  REQUIRE(knock::PrivsepChannel::MakePair(&sniffer, &helper, &err));
  helper.Close();
  knock::PrivsepFirewall firewall(&sniffer);
  CHECK_FALSE(firewall.Open(GrantFor("198.18.0.7"), &err));
  CHECK(err == "sending a grant message: Broken pipe");
}

TEST_CASE("the sniffer cannot flush the firewall", "[privsep]") {
  knock::PrivsepChannel sniffer;
  knock::PrivsepChannel helper;
  std::string err;
  REQUIRE(knock::PrivsepChannel::MakePair(&sniffer, &helper, &err));
  knock::PrivsepFirewall firewall(&sniffer);
  CHECK_FALSE(firewall.Flush(&err));
  CHECK(err == "the sniffer cannot flush the firewall");
  std::vector<uint8_t> bytes;
  CHECK(helper.Receive(&bytes, nullptr, &err) == knock::ReceiveResult::kNone);
}
