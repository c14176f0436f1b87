// The helper's sequence authority: the only holder of pair keys. It hands
// out key-free images and accepts a grant only with the ports of exactly
// the sequence it names.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/bound_sequence.h"
#include "knockd/client_sequence.h"
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
  /// True when the evidence is valid.
  bool Check(const knock::PrivsepMessage& grant, std::string* err) const {
    return authority.CheckEvidence(grant, err) == knock::Evidence::kValid;
  }
  // What the client sends, derived on the client's side.
  std::vector<uint16_t> Sent(const knock::PrivateKey& client, uint64_t window,
                             uint8_t slot, const char* service) {
    return ClientSequence(client, server.Public(), {window, slot, service});
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
  CHECK(s.Check(Grant(0, 0, 1000, 2, s.Sent(s.alice, 1000, 2, "ssh")), &err));
  CHECK(s.Check(Grant(1, 1, 999, 0, s.Sent(s.bob, 999, 0, "web")), &err));
  // Any window: whether it is acceptable is CheckSnifferRequest's call.
  CHECK(s.Check(Grant(0, 1, 5000, 3, s.Sent(s.alice, 5000, 3, "web")), &err));
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
      CHECK_FALSE(s.Check(Grant(0, 0, 1000, 2, ports), &err));
      CHECK(err ==
            "the grant's ports are not the sequence of client 0 service 0 "
            "window 1000 slot 2");
    }
  }
  SECTION("the right ports in another order") {
    std::vector<uint16_t> ports = sent;
    std::swap(ports[0], ports[1]);
    CHECK_FALSE(s.Check(Grant(0, 0, 1000, 2, ports), &err));
  }
  SECTION("the ports of another slot") {
    CHECK_FALSE(s.Check(Grant(0, 0, 1000, 1, sent), &err));
    CHECK(err ==
          "the grant's ports are not the sequence of client 0 service 0 "
          "window 1000 slot 1");
  }
  SECTION("the ports of another window") {
    CHECK_FALSE(s.Check(Grant(0, 0, 1001, 2, sent), &err));
    CHECK_FALSE(s.Check(Grant(0, 0, 999, 2, sent), &err));
  }
  SECTION("the ports of another owner") {
    CHECK_FALSE(s.Check(Grant(1, 0, 1000, 2, sent), &err));
    CHECK(err ==
          "the grant's ports are not the sequence of client 1 service 0 "
          "window 1000 slot 2");
  }
  SECTION("the ports of another service") {
    CHECK_FALSE(s.Check(Grant(0, 1, 1000, 2, sent), &err));
  }
  SECTION("too few or too many ports") {
    std::vector<uint16_t> ports(sent.begin(), sent.end() - 1);
    CHECK_FALSE(s.Check(Grant(0, 0, 1000, 2, ports), &err));
    CHECK(err ==
          "the grant for client 0 service 0 window 1000 slot 2 shows 7 ports, "
          "a sequence has 8");
    ports = sent;
    ports.push_back(20000);
    CHECK_FALSE(s.Check(Grant(0, 0, 1000, 2, ports), &err));
  }
  SECTION("an owner the authority does not know") {
    CHECK_FALSE(s.Check(Grant(2, 0, 1000, 2, sent), &err));
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

namespace {

/// Alice may knock bound for ssh (knock/v1 section 7); bob may not.
struct BoundSetup {
  knock::PrivateKey server = knock::PrivateKey::Generate();
  knock::PrivateKey alice = knock::PrivateKey::Generate();
  knock::ServerConfig config;
  knock::SequenceAuthority authority;
  BoundSetup() {
    config.knock.slots = 2;
    config.services = {{"ssh", {{knock::Transport::kTcp, 22}}, 30000}};
    config.clients = {{"alice", alice.Public(), {"ssh"}},
                      {"bob", knock::PrivateKey::Generate().Public(), {"ssh"}}};
    config.clients[0].allow_bound = true;
    std::string err;
    REQUIRE(authority.Init(config, server, &err));
    authority.RollTo(1000);
  }
  /// What alice sends bound to `address`, in sending order.
  std::vector<uint16_t> SentBound(const char* address, uint8_t slot) {
    knock::PairKey key;
    std::string err;
    REQUIRE(knock::DerivePairKey(alice, server.Public(),
                                 knock::PairRole::kClient, &key, &err));
    knock::IpAddress bound_to;
    REQUIRE(knock::IpAddress::Parse(address, &bound_to, &err));
    knock::BoundSequence bound;
    REQUIRE(knock::DeriveBoundSequence(
        key, {1000, slot, "ssh"}, {16384, 16384, 8}, bound_to, &bound, &err));
    return knock::BoundSendingOrder(bound);
  }
};

/// The grant the sniffer sends for a completed bound head: the head in its
/// order, then the source's other knocks.
knock::PrivsepMessage BoundGrant(const std::vector<uint16_t>& sent,
                                 const char* source) {
  std::vector<uint16_t> evidence = {sent[0]};
  evidence.insert(evidence.end(), sent.begin() + 5, sent.end());
  evidence.insert(evidence.end(), sent.begin() + 1, sent.begin() + 5);
  knock::PrivsepMessage grant = Grant(0, 0, 1000, 1, evidence);
  grant.owner.bound = true;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(source, &grant.source, &err));
  return grant;
}

}  // namespace

TEST_CASE("a bound grant opens only for the address it is bound to",
          "[authority][bound]") {
  BoundSetup s;
  std::string err;
  const std::vector<uint16_t> sent = s.SentBound("2001:db8::2", 1);
  CHECK(s.authority.CheckEvidence(BoundGrant(sent, "2001:db8::2"), &err) ==
        knock::Evidence::kValid);
  // The same knocks raced from another address: refused, not a lie.
  CHECK(s.authority.CheckEvidence(BoundGrant(sent, "2001:db8::66"), &err) ==
        knock::Evidence::kBoundElsewhere);
  CHECK(err == "the sequence is bound to another address than 2001:db8::66");
  // The racer's own tail would need alice's key.
  const std::vector<uint16_t> for_v4 = s.SentBound("198.18.0.2", 1);
  CHECK(s.authority.CheckEvidence(BoundGrant(for_v4, "198.18.0.2"), &err) ==
        knock::Evidence::kValid);
  CHECK(s.authority.CheckEvidence(BoundGrant(for_v4, "198.18.0.3"), &err) ==
        knock::Evidence::kBoundElsewhere);
}

TEST_CASE("a bound grant without its tail or with a wrong head",
          "[authority][bound]") {
  BoundSetup s;
  std::string err;
  const std::vector<uint16_t> sent = s.SentBound("198.18.0.2", 0);
  knock::PrivsepMessage grant = BoundGrant(sent, "198.18.0.2");
  grant.owner.slot = 0;
  REQUIRE(s.authority.CheckEvidence(grant, &err) == knock::Evidence::kValid);
  SECTION("the head alone: no tail among the other ports") {
    knock::PrivsepMessage head_only = grant;
    head_only.port_count = 8;
    CHECK(s.authority.CheckEvidence(head_only, &err) ==
          knock::Evidence::kBoundElsewhere);
  }
  SECTION("a head port wrong is a lie") {
    grant.ports[3] = grant.ports[3] == 16384 ? 16385 : grant.ports[3] - 1;
    CHECK(s.authority.CheckEvidence(grant, &err) == knock::Evidence::kForged);
  }
  SECTION("the unbound sequence of the slot passed off as its head") {
    grant.owner.bound = false;
    CHECK(s.authority.CheckEvidence(grant, &err) == knock::Evidence::kForged);
  }
  SECTION("fewer ports than a head") {
    grant.port_count = 7;
    CHECK(s.authority.CheckEvidence(grant, &err) == knock::Evidence::kForged);
  }
}

TEST_CASE("only clients that may knock bound have heads in the image",
          "[authority][bound]") {
  BoundSetup s;
  knock::SequenceTableImage image;
  std::string err;
  REQUIRE(knock::DecodeTableImage(s.authority.EncodedImage(), &image, &err));
  // alice: 2 unbound + 2 bound slots; bob: 2 unbound.
  REQUIRE(image.owners.size() == 6);
  CHECK(image.owners[2] == knock::TableImageOwner{0, 0, 0, true});
  CHECK(image.owners[3] == knock::TableImageOwner{0, 0, 1, true});
  CHECK_FALSE(image.owners[4].bound);
}
