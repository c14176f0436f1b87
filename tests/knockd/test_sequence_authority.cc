// The helper's sequence authority: the only holder of pair keys. It hands
// out key-free images and accepts a grant only with the ports of exactly
// the sequence it names.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "knockd/helper/sequence_authority.h"

namespace {

struct Setup {
  knock::PrivateKey server = knock::PrivateKey::Generate();
  knock::PrivateKey alice = knock::PrivateKey::Generate();
  knock::PrivateKey bob = knock::PrivateKey::Generate();
  knock::ServerConfig config;
  knock::SequenceAuthority authority;
  Setup() {
    config.knock.skew = 1;
    config.knock.slots = 4;
    config.services = {{"ssh", {{knock::Transport::kTcp, 22}}, 30000},
                       {"web", {{knock::Transport::kTcp, 443}}, 30000}};
    config.clients = {{"alice", alice.Public(), {"ssh", "web"}},
                      {"bob", bob.Public(), {"ssh", "web"}}};
    std::string err;
    REQUIRE(authority.Init(config, server, &err));
    authority.RollTo(1000);
  }
  // What the client sends, derived on the client's side.
  std::vector<uint16_t> Sent(const knock::PrivateKey& client, uint64_t window,
                             uint8_t slot, const char* service) {
    knock::PairKey key;
    std::string err;
    REQUIRE(knock::DerivePairKey(client, server.Public(),
                                 knock::PairRole::kClient, &key, &err));
    std::vector<uint16_t> ports;
    REQUIRE(knock::DeriveSequence(key, {window, slot, service},
                                  {16384, 16384, 8}, &ports, &err));
    return ports;
  }
};

knock::PrivsepMessage Grant(uint32_t client, uint32_t service, uint64_t window,
                            uint8_t slot, const std::vector<uint16_t>& ports) {
  knock::PrivsepMessage message;
  message.type = knock::PrivsepMessageType::kGrant;
  message.owner = {client, service, window, slot};
  message.timeout_ms = 30000;
  message.port_count = static_cast<uint8_t>(ports.size());
  std::copy(ports.begin(), ports.end(), message.ports.begin());
  return message;
}

}  // namespace

TEST_CASE("a grant with its owner's ports is accepted", "[authority]") {
  Setup s;
  std::string err;
  CHECK(s.authority.CheckEvidence(
      Grant(0, 0, 1000, 2, s.Sent(s.alice, 1000, 2, "ssh")), &err));
  CHECK(s.authority.CheckEvidence(
      Grant(1, 1, 999, 0, s.Sent(s.bob, 999, 0, "web")), &err));
  // Any window: whether it is acceptable is CheckSnifferRequest's call.
  CHECK(s.authority.CheckEvidence(
      Grant(0, 1, 5000, 3, s.Sent(s.alice, 5000, 3, "web")), &err));
}

TEST_CASE("a grant whose ports are not its owner's sequence is refused",
          "[authority]") {
  Setup s;
  std::string err;
  const std::vector<uint16_t> sent = s.Sent(s.alice, 1000, 2, "ssh");
  SECTION("one port wrong") {
    for (size_t i = 0; i < sent.size(); ++i) {
      INFO(i);
      std::vector<uint16_t> ports = sent;
      ports[i] = ports[i] == 16384 ? 16385 : ports[i] - 1;
      CHECK_FALSE(s.authority.CheckEvidence(Grant(0, 0, 1000, 2, ports), &err));
      CHECK(err ==
            "the grant's ports are not the sequence of client 0 service 0 "
            "window 1000 slot 2");
    }
  }
  SECTION("the right ports in another order") {
    std::vector<uint16_t> ports = sent;
    std::swap(ports[0], ports[1]);
    CHECK_FALSE(s.authority.CheckEvidence(Grant(0, 0, 1000, 2, ports), &err));
  }
  SECTION("the ports of another slot") {
    CHECK_FALSE(s.authority.CheckEvidence(Grant(0, 0, 1000, 1, sent), &err));
    CHECK(err ==
          "the grant's ports are not the sequence of client 0 service 0 "
          "window 1000 slot 1");
  }
  SECTION("the ports of another window") {
    CHECK_FALSE(s.authority.CheckEvidence(Grant(0, 0, 1001, 2, sent), &err));
    CHECK_FALSE(s.authority.CheckEvidence(Grant(0, 0, 999, 2, sent), &err));
  }
  SECTION("the ports of another owner") {
    CHECK_FALSE(s.authority.CheckEvidence(Grant(1, 0, 1000, 2, sent), &err));
    CHECK(err ==
          "the grant's ports are not the sequence of client 1 service 0 "
          "window 1000 slot 2");
  }
  SECTION("the ports of another service") {
    CHECK_FALSE(s.authority.CheckEvidence(Grant(0, 1, 1000, 2, sent), &err));
  }
  SECTION("too few or too many ports") {
    std::vector<uint16_t> ports(sent.begin(), sent.end() - 1);
    CHECK_FALSE(s.authority.CheckEvidence(Grant(0, 0, 1000, 2, ports), &err));
    CHECK(err ==
          "the grant for client 0 service 0 window 1000 slot 2 shows 7 ports, "
          "a sequence has 8");
    ports = sent;
    ports.push_back(20000);
    CHECK_FALSE(s.authority.CheckEvidence(Grant(0, 0, 1000, 2, ports), &err));
  }
  SECTION("an owner the authority does not know") {
    CHECK_FALSE(s.authority.CheckEvidence(Grant(2, 0, 1000, 2, sent), &err));
    CHECK(err == "no sequence for client 2 service 0 window 1000 slot 2");
  }
}

TEST_CASE("the image holds the live windows and the next, and no key",
          "[authority]") {
  Setup s;
  knock::SequenceTableImage image;
  std::string err;
  REQUIRE(knock::DecodeTableImage(s.authority.EncodedImage(), &image, &err));
  CHECK(image.oldest_window == 998);
  CHECK(image.window_count == 5);
  CHECK(image.center_window == 1000);
  CHECK(image.owners.size() == 2 * 2 * 4);
  // Alice's ssh sequence of slot 2 in the window ahead is in it.
  const std::vector<uint16_t> ahead = s.Sent(s.alice, 1002, 2, "ssh");
  const size_t block = 4 * image.owners.size() * 8;
  const size_t at = block + 2 * 8;
  CHECK(std::vector<uint16_t>(image.ports.begin() + at,
                              image.ports.begin() + at + 8) == ahead);
  CHECK_FALSE(s.authority.RollTo(1000));
  CHECK(s.authority.RollTo(1001));
}
