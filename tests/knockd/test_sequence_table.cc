// The expected-sequence table: what it holds for each window and how it
// rolls forward.
#include <algorithm>
#include <catch2/catch.hpp>
#include <tuple>

#include "common/bound_sequence.h"
#include "knockd/client_sequence.h"
#include "knockd/shared/sequence_table.h"

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
    return ::ClientSequence(client, server.Public(), {window, slot, service});
  }
};

// Many clients, so that Init and RollTo split their work across threads.
struct ManyClients {
  knock::PrivateKey server = knock::PrivateKey::Generate();
  std::vector<knock::PrivateKey> keys;
  knock::ServerConfig config;
  explicit ManyClients(int clients) {
    config.knock.skew = 1;
    config.knock.slots = 4;
    config.services = {{"ssh", {{knock::Transport::kTcp, 22}}, 30000},
                       {"web", {{knock::Transport::kTcp, 443}}, 30000}};
    for (int i = 0; i < clients; ++i) {
      keys.push_back(knock::PrivateKey::Generate());
      // Every third client may open only one service: owners differ in
      // number per client, as in real configurations.
      std::vector<std::string> services = {"ssh", "web"};
      if (i % 3 == 2) services = {"web"};
      config.clients.push_back(
          {"c" + std::to_string(i), keys.back().Public(), services});
    }
  }
};

using Row =
    std::tuple<uint32_t, uint32_t, uint64_t, int, bool, std::vector<uint16_t>>;

// Everything the table lends out: each sequence and the port index.
struct Dump {
  std::vector<Row> sequences;
  std::vector<std::vector<uint32_t>> index;
  bool operator==(const Dump&) const = default;
};

Dump DumpOf(const knock::SequenceTable& table) {
  Dump dump;
  for (uint32_t id = 0; id < table.size(); ++id) {
    const knock::ExpectedSequence seq = table.sequence(id);
    dump.sequences.emplace_back(
        seq.owner.client, seq.owner.service, seq.owner.window, seq.owner.slot,
        seq.expired, std::vector<uint16_t>(seq.ports.begin(), seq.ports.end()));
  }
  for (uint32_t port = 16384; port <= 32767; ++port) {
    const auto ids = table.SequencesWith(static_cast<uint16_t>(port));
    dump.index.emplace_back(ids.begin(), ids.end());
  }
  return dump;
}

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
    if (std::ranges::equal(seq.ports, expected)) {
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
    found |= std::ranges::equal(table.sequence(id).ports, sequence);
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

TEST_CASE("every sequence holds the ports its client derives",
          "[sequence_table]") {
  ManyClients m(5);
  knock::SequenceTable table;
  std::string err;
  REQUIRE(table.Init(m.config, m.server, &err));
  REQUIRE(table.RollTo(7000));
  // 4 clients of two services and 1 of one, 4 slots, windows 6998-7001.
  REQUIRE(table.size() == (4 * 2 + 1) * 4 * 4);
  for (uint32_t id = 0; id < table.size(); ++id) {
    const knock::ExpectedSequence seq = table.sequence(id);
    knock::PairKey key;
    REQUIRE(knock::DerivePairKey(m.keys[seq.owner.client], m.server.Public(),
                                 knock::PairRole::kClient, &key, &err));
    std::vector<uint16_t> ports;
    REQUIRE(knock::DeriveSequence(key,
                                  {seq.owner.window, seq.owner.slot,
                                   m.config.services[seq.owner.service].name},
                                  {16384, 16384, 8}, &ports, &err));
    CHECK(std::ranges::equal(seq.ports, ports));
    CHECK(std::ranges::equal(table.Ports(id), ports));
    CHECK(seq.expired == (seq.owner.window == 6998));
    // The index lists the sequence under each of its ports, once.
    for (uint16_t port : ports)
      CHECK(std::ranges::count(table.SequencesWith(port), id) == 1);
  }
}

TEST_CASE("threads build the same table as one thread, bit for bit",
          "[sequence_table]") {
  ManyClients m(600);
  knock::SequenceTable one;
  knock::SequenceTable many;
  one.set_threads(1);
  many.set_threads(4);
  std::string err;
  REQUIRE(one.Init(m.config, m.server, &err));
  REQUIRE(many.Init(m.config, m.server, &err));
  for (uint64_t window : {500u, 501u, 504u, 502u}) {
    REQUIRE(one.RollTo(window));
    REQUIRE(many.RollTo(window));
    CHECK(one.size() == 600 * 4 * 4 * 2 - 200 * 4 * 4);
    CHECK(DumpOf(one) == DumpOf(many));
  }
}

TEST_CASE("a rolled table equals one derived afresh", "[sequence_table]") {
  ManyClients m(40);
  knock::SequenceTable rolled;
  std::string err;
  REQUIRE(rolled.Init(m.config, m.server, &err));
  REQUIRE(rolled.RollTo(1));  // windows 0 to 2 only
  // One window on, two on, one back, and a jump past everything held.
  for (uint64_t window : {2u, 4u, 3u, 90u, 91u}) {
    REQUIRE(rolled.RollTo(window));
    knock::SequenceTable fresh;
    REQUIRE(fresh.Init(m.config, m.server, &err));
    REQUIRE(fresh.RollTo(window));
    CHECK(DumpOf(rolled) == DumpOf(fresh));
  }
}

TEST_CASE("the first client whose key gives no secret is named",
          "[sequence_table]") {
  ManyClients m(300);
  // A point of small order: the secret with any private key is all zero.
  knock::PublicKey zero;
  m.config.clients[150].public_key = zero;
  m.config.clients[250].public_key = zero;
  knock::SequenceTable table;
  table.set_threads(4);
  std::string err;
  CHECK_FALSE(table.Init(m.config, m.server, &err));
  CHECK(err ==
        "client \"c150\": key agreement with "
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= gave an all-zero secret "
        "(a low-order public key)");
}

TEST_CASE("a shape no sequence fits fails at Init", "[sequence_table]") {
  Setup s;
  s.config.knock.ports = {16384, 16391};
  s.config.knock.count = 9;
  knock::SequenceTable table;
  std::string err;
  CHECK_FALSE(table.Init(s.config, s.server, &err));
  CHECK(err == "no sequence of 9 distinct ports fits the range 16384+8");
}

TEST_CASE("the table stays small: four bytes a port", "[sequence_table]") {
  ManyClients m(90);
  knock::SequenceTable table;
  std::string err;
  REQUIRE(table.Init(m.config, m.server, &err));
  REQUIRE(table.RollTo(100));
  const size_t ports = table.size() * 8;
  // Ports, the index (a 16-bit gap per port) and the offsets; owners and
  // pair keys are per client and window, not per sequence.
  CHECK(table.MemoryBytes() <=
        ports * (2 + 2) * 65 / 64 + 16385 * 4 + 90 * 1000);
}

TEST_CASE("sequence ids survive the gap encoding", "[sequence_table]") {
  // Gaps below, at and above the escape, and a first id that needs it.
  const std::vector<uint32_t> ids = {70000, 70001, 70001 + 65534,
                                     70001 + 65534 + 65535, 4000000000u};
  std::vector<uint16_t> units(3 * ids.size());
  size_t used = 0;
  uint32_t previous = 0;
  for (uint32_t id : ids) {
    used += knock::EncodeSequenceId(previous, id, units.data() + used);
    previous = id;
  }
  CHECK(used == 3 + 1 + 1 + 3 + 3);
  const knock::SequenceIds decoded(units.data(), units.data() + used);
  CHECK(std::vector<uint32_t>(decoded.begin(), decoded.end()) == ids);
  CHECK(knock::SequenceIds().empty());
}

namespace {

// The ids of one port as a loaded table lends them, mapped to owners.
std::vector<std::tuple<uint32_t, uint32_t, uint64_t, int>> OwnersWith(
    const knock::SequenceTable& table, uint16_t port) {
  std::vector<std::tuple<uint32_t, uint32_t, uint64_t, int>> owners;
  for (uint32_t id : table.SequencesWith(port)) {
    const knock::SequenceOwner o = table.sequence(id).owner;
    owners.emplace_back(o.client, o.service, o.window, o.slot);
  }
  std::sort(owners.begin(), owners.end());
  return owners;
}

}  // namespace

TEST_CASE("a table loaded from a keyed table's image matches it, keyless",
          "[sequence_table]") {
  ManyClients m(20);
  knock::SequenceTable keyed;
  std::string err;
  keyed.set_windows_ahead(1);
  REQUIRE(keyed.Init(m.config, m.server, &err));
  REQUIRE(keyed.RollTo(1000));
  const knock::SequenceTableImage image = keyed.Image();
  CHECK(image.oldest_window == 998);
  CHECK(image.window_count == 5);
  CHECK(image.center_window == 1000);

  knock::SequenceTable loaded;
  REQUIRE(loaded.Load(m.config, image, &err));
  CHECK_FALSE(loaded.keyed());
  REQUIRE(loaded.RollTo(1000));
  // A keyed table without the window ahead indexes the same windows.
  knock::SequenceTable plain;
  REQUIRE(plain.Init(m.config, m.server, &err));
  REQUIRE(plain.RollTo(1000));
  for (uint32_t port = 16384; port <= 32767; ++port) {
    INFO(port);
    REQUIRE(OwnersWith(loaded, static_cast<uint16_t>(port)) ==
            OwnersWith(plain, static_cast<uint16_t>(port)));
  }
  uint16_t derived[8];
  CHECK_FALSE(loaded.Derive({0, 0, 1000, 0}, derived));
}

TEST_CASE("the window ahead is held but live only once it starts",
          "[sequence_table]") {
  Setup s;
  knock::SequenceTable keyed;
  std::string err;
  keyed.set_windows_ahead(1);
  REQUIRE(keyed.Init(s.config, s.server, &err));
  REQUIRE(keyed.RollTo(1000));
  knock::SequenceTable loaded;
  REQUIRE(loaded.Load(s.config, keyed.Image(), &err));
  const std::vector<uint16_t> ahead = s.ClientSequence(1002, 0, "ssh");
  const std::vector<uint16_t> oldest = s.ClientSequence(998, 0, "ssh");
  auto holds = [&](uint64_t window, const std::vector<uint16_t>& ports) {
    for (uint32_t id : loaded.SequencesWith(ports[0])) {
      const knock::ExpectedSequence seq = loaded.sequence(id);
      if (seq.owner.window == window && seq.owner.slot == 0 &&
          seq.owner.service == 0 &&
          std::equal(seq.ports.begin(), seq.ports.end(), ports.begin()))
        return true;
    }
    return false;
  };
  REQUIRE(loaded.RollTo(1000));
  CHECK_FALSE(holds(1002, ahead));
  CHECK(holds(998, oldest));
  // Time rolls before the helper's next image: the sniffer still has every
  // live window, and the oldest is gone from the index.
  REQUIRE(loaded.RollTo(1001));
  CHECK(holds(1002, ahead));
  CHECK_FALSE(holds(998, oldest));
  // Two windows on without a new image: what it lacks, it cannot match.
  REQUIRE(loaded.RollTo(1002));
  CHECK(holds(1002, ahead));
  CHECK_FALSE(holds(1003, s.ClientSequence(1003, 0, "ssh")));
}

TEST_CASE("a keyed table derives any owner's sequence anew",
          "[sequence_table]") {
  Setup s;
  knock::SequenceTable table;
  std::string err;
  REQUIRE(table.Init(s.config, s.server, &err));
  std::vector<uint16_t> ports(8);
  REQUIRE(table.Derive({0, 1, 123456, 3}, ports.data()));
  CHECK(ports == s.ClientSequence(123456, 3, "web"));
  CHECK_FALSE(table.Derive({1, 0, 1000, 0}, ports.data()));
  CHECK_FALSE(table.Derive({0, 2, 1000, 0}, ports.data()));
}

TEST_CASE("an image that does not fit the configuration is refused whole",
          "[sequence_table]") {
  Setup s;
  knock::SequenceTable keyed;
  std::string err;
  REQUIRE(keyed.Init(s.config, s.server, &err));
  REQUIRE(keyed.RollTo(1000));
  knock::SequenceTable loaded;
  REQUIRE(loaded.Load(s.config, keyed.Image(), &err));
  REQUIRE(loaded.RollTo(1000));
  const size_t before = loaded.size();

  knock::SequenceTableImage image = keyed.Image();
  image.owners[3].client = 1;
  CHECK_FALSE(loaded.Load(s.config, image, &err));
  CHECK(err ==
        "sequence table image: owner (client 1, service 0, slot 3) is not in "
        "the configuration");
  image = keyed.Image();
  image.owners[0].slot = 4;
  CHECK_FALSE(loaded.Load(s.config, image, &err));
  CHECK(err ==
        "sequence table image: owner (client 0, service 0, slot 4) is not in "
        "the configuration");
  image = keyed.Image();
  image.owners[0].service = 2;
  CHECK_FALSE(loaded.Load(s.config, image, &err));
  image = keyed.Image();
  image.count = 7;
  CHECK_FALSE(loaded.Load(s.config, image, &err));
  CHECK(err == "sequence table image: count 7 is not knock.count 8");
  image = keyed.Image();
  image.skew = 2;
  CHECK_FALSE(loaded.Load(s.config, image, &err));
  CHECK(err == "sequence table image: skew 2 is not knock.skew 1");
  image = keyed.Image();
  image.first_port = 16385;
  CHECK_FALSE(loaded.Load(s.config, image, &err));
  CHECK(err ==
        "sequence table image: range 16385+16384 is not knock.ports "
        "16384-32767");
  CHECK(loaded.size() == before);
  CHECK_FALSE(
      loaded.SequencesWith(s.ClientSequence(1000, 0, "ssh")[0]).empty());
}

TEST_CASE(
    "bound heads: only where allowed, matched by port, refused in an "
    "image for a client that may not knock bound",
    "[sequence_table][bound]") {
  Setup s;
  s.config.services[1].allow_bound = true;  // web only
  knock::SequenceTable keyed;
  std::string err;
  REQUIRE(keyed.Init(s.config, s.server, &err));
  REQUIRE(keyed.RollTo(1000));
  // ssh: 4 unbound slots; web: 4 unbound and 4 bound.
  CHECK(keyed.size() / 4 == 12);
  knock::PairKey key;
  REQUIRE(knock::DerivePairKey(s.client, s.server.Public(),
                               knock::PairRole::kClient, &key, &err));
  std::vector<uint16_t> head(8);
  REQUIRE(knock::DeriveBoundHeadInto(key, {1000, 2, "web"}, {16384, 16384, 8},
                                     head.data(), &err));
  // Other sequences may share head[0]; exactly one is this head.
  int found = 0;
  for (uint32_t id : keyed.SequencesWith(head[0])) {
    const knock::ExpectedSequence sequence = keyed.sequence(id);
    if (!sequence.owner.bound || sequence.owner.window != 1000 ||
        sequence.owner.slot != 2 || sequence.owner.service != 1)
      continue;
    ++found;
    CHECK(std::vector<uint16_t>(sequence.ports.begin(), sequence.ports.end()) ==
          head);
  }
  CHECK(found == 1);

  knock::SequenceTable loaded;
  REQUIRE(loaded.Load(s.config, keyed.Image(), &err));
  // The same image against a configuration that no longer allows it.
  knock::ServerConfig strict = s.config;
  strict.services[1].allow_bound = false;
  CHECK_FALSE(loaded.Load(strict, keyed.Image(), &err));
  CHECK(err ==
        "sequence table image: owner (client 0, service 1, slot 0, bound) is "
        "not in the configuration");
}
