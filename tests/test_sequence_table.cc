// The expected-sequence table: what it holds for each window and how it
// rolls forward.
#include <catch2/catch.hpp>

#include "common/sequence_table.h"

namespace {

struct Setup {
  knock::PrivateKey server = knock::PrivateKey::Generate();
  knock::PrivateKey client = knock::PrivateKey::Generate();
  knock::ServerConfig config;
  Setup() {
    config.knock.skew = 1;
    config.knock.slots = 4;
    config.services = {{"ssh", {{knock::Transport::kTcp, 22}}, 30000},
                       {"web", {{knock::Transport::kTcp, 443}}, 30000}};
    config.clients = {{"alice", client.Public(), {"ssh", "web"}}};
  }
  std::vector<uint16_t> ClientSequence(uint64_t window, uint8_t slot,
                                       const char* service) {
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

}  // namespace

TEST_CASE("the table holds every window, slot and service, indexed by port",
          "[sequence_table]") {
  Setup s;
  knock::SequenceTable table;
  std::string err;
  REQUIRE(table.Init(s.config, s.server, &err));
  REQUIRE(table.RollTo(1000));
  // Windows 998 (expired) to 1001, 4 slots, 2 services.
  CHECK(table.size() == 4 * 4 * 2);
  const auto expected = s.ClientSequence(1001, 3, "web");
  bool found = false;
  for (uint32_t id : table.SequencesWith(expected[0])) {
    const auto& seq = table.sequence(id);
    if (seq.ports == expected) {
      found = true;
      CHECK(seq.owner.window == 1001);
      CHECK(seq.owner.slot == 3);
      CHECK(seq.owner.service == 1);
      CHECK_FALSE(seq.expired);
    }
  }
  CHECK(found);
  CHECK(table.SequencesWith(80).empty());
}

TEST_CASE("rolling forward drops old windows and marks the expired one",
          "[sequence_table]") {
  Setup s;
  knock::SequenceTable table;
  std::string err;
  REQUIRE(table.Init(s.config, s.server, &err));
  REQUIRE(table.RollTo(1000));
  CHECK_FALSE(table.RollTo(1000));
  REQUIRE(table.RollTo(1002));
  uint64_t oldest = UINT64_MAX, newest = 0;
  for (uint32_t id = 0; id < table.size(); ++id) {
    const auto& seq = table.sequence(id);
    oldest = std::min(oldest, seq.owner.window);
    newest = std::max(newest, seq.owner.window);
    CHECK(seq.expired == (seq.owner.window == 1000));
  }
  CHECK(oldest == 1000);
  CHECK(newest == 1003);
  const auto sequence = s.ClientSequence(1003, 0, "ssh");
  bool found = false;
  for (uint32_t id : table.SequencesWith(sequence[5]))
    found |= table.sequence(id).ports == sequence;
  CHECK(found);
}

TEST_CASE("a client is only given the services it may open",
          "[sequence_table]") {
  Setup s;
  s.config.clients[0].services = {"web"};
  knock::SequenceTable table;
  std::string err;
  REQUIRE(table.Init(s.config, s.server, &err));
  table.RollTo(5);
  for (uint32_t id = 0; id < table.size(); ++id)
    CHECK(table.sequence(id).owner.service == 1);
}

TEST_CASE("windows near zero do not underflow", "[sequence_table]") {
  Setup s;
  knock::SequenceTable table;
  std::string err;
  REQUIRE(table.Init(s.config, s.server, &err));
  REQUIRE(table.RollTo(0));
  CHECK(table.size() == 2 * 4 * 2);  // windows 0 and 1
}
