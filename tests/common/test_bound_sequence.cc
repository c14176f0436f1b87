// knock/v1 section 7: the bound-sequence vectors bit for bit, and what a
// binding must and must not change.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/bound_sequence.h"
#include "common/knock_sequence.h"
#include "common/pair_key.h"

namespace {

nlohmann::json LoadBoundVectors() {
  std::ifstream in(std::string(KNOCK_TEST_DATA_DIR) + "/knock-v1-bound.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

knock::PairKey PairKeyOf(const nlohmann::json& v) {
  knock::PrivateKey client;
  knock::PublicKey server;
  std::string err;
  REQUIRE(knock::PrivateKey::FromText(v["client_private"].get<std::string>(),
                                      &client, &err));
  REQUIRE(knock::ParsePublicKey(v["server_public"].get<std::string>(), &server,
                                &err));
  knock::PairKey key;
  REQUIRE(knock::DerivePairKey(client, server, knock::PairRole::kClient, &key,
                               &err));
  return key;
}

knock::IpAddress Address(const std::string& text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

/// One vector's inputs; `id.service` views `service`, so it is neither
/// copied nor moved.
struct Vector {
  explicit Vector(const nlohmann::json& v)
      : key(PairKeyOf(v)), service(v["service"].get<std::string>()) {
    id = {v["window"].get<uint64_t>(), v["slot"].get<uint8_t>(), service};
    shape = {v["base"].get<uint16_t>(), v["range"].get<uint32_t>(),
             v["n"].get<int>()};
  }
  Vector(const Vector&) = delete;
  knock::PairKey key;
  std::string service;
  knock::SequenceId id;
  knock::SequenceShape shape;
};

}  // namespace

TEST_CASE("every bound vector reproduces bit for bit", "[bound]") {
  const nlohmann::json vectors = LoadBoundVectors();
  REQUIRE(vectors["protocol"] == "knock/v1 bound");
  REQUIRE(vectors["vectors"].size() == 5);
  for (const auto& v : vectors["vectors"]) {
    CAPTURE(v["service"], v["window"], v["bound_to"]);
    const Vector in(v);
    knock::BoundSequence bound;
    std::string err;
    REQUIRE(knock::DeriveBoundSequence(
        in.key, in.id, in.shape, Address(v["bound_to"].get<std::string>()),
        &bound, &err));
    CHECK(bound.head == v["head"].get<std::vector<uint16_t>>());
    CHECK(bound.tail == v["tail"].get<std::vector<uint16_t>>());
    CHECK(knock::BoundSendingOrder(bound) ==
          v["sending_order"].get<std::vector<uint16_t>>());
    CHECK(static_cast<int>(bound.tail.size()) ==
          knock::BoundTailCount(in.shape.count));
  }
}

TEST_CASE("a tail bound to one address fails the check for another",
          "[bound]") {
  // Vectors 1 and 2: the same sequence bound to 198.18.0.2 and 198.18.0.3.
  const nlohmann::json vectors = LoadBoundVectors()["vectors"];
  const Vector in(vectors[0]);
  knock::BoundSequence client, attacker;
  std::string err;
  REQUIRE(knock::DeriveBoundSequence(in.key, in.id, in.shape,
                                     Address("198.18.0.2"), &client, &err));
  REQUIRE(knock::DeriveBoundSequence(in.key, in.id, in.shape,
                                     Address("198.18.0.3"), &attacker, &err));
  CHECK(client.head == attacker.head);
  CHECK(client.tail != attacker.tail);
  const std::vector<uint16_t> sent = knock::BoundSendingOrder(client);
  // Control: the client's own address passes with the very same evidence.
  CHECK(knock::TailAmong(client.tail, sent));
  CHECK_FALSE(knock::TailAmong(attacker.tail, sent));
}

TEST_CASE("an IPv4-mapped address binds like its IPv4 address", "[bound]") {
  uint8_t mapped[knock::kMaxBindingBytes];
  uint8_t plain[knock::kMaxBindingBytes];
  REQUIRE(knock::BindingBytes(Address("::ffff:198.18.7.9"), mapped) == 5);
  REQUIRE(knock::BindingBytes(Address("198.18.7.9"), plain) == 5);
  CHECK(std::equal(mapped, mapped + 5, plain));
  CHECK(plain[0] == 4);
  CHECK(plain[1] == 198);
  CHECK(plain[4] == 9);
  uint8_t v6[knock::kMaxBindingBytes];
  REQUIRE(knock::BindingBytes(Address("2001:db8::2"), v6) == 17);
  CHECK(v6[0] == 6);
  CHECK(v6[1] == 0x20);
  CHECK(v6[16] == 2);
}

TEST_CASE("the head is not the unbound sequence of the same slot", "[bound]") {
  // Otherwise a sniffed bound knock would give away a usable unbound one.
  const nlohmann::json vectors = LoadBoundVectors()["vectors"];
  for (const auto& v : vectors) {
    const Vector in(v);
    std::vector<uint16_t> unbound;
    std::string err;
    REQUIRE(knock::DeriveSequence(in.key, in.id, in.shape, &unbound, &err));
    CHECK(unbound != v["head"].get<std::vector<uint16_t>>());
  }
}

TEST_CASE("a bound sequence has distinct ports in the range", "[bound]") {
  const Vector in(LoadBoundVectors()["vectors"][4]);
  knock::BoundSequence bound;
  std::string err;
  REQUIRE(knock::DeriveBoundSequence(in.key, in.id, in.shape,
                                     Address("2001:db8::99"), &bound, &err));
  std::set<uint16_t> all(bound.head.begin(), bound.head.end());
  all.insert(bound.tail.begin(), bound.tail.end());
  CHECK(all.size() == bound.head.size() + bound.tail.size());
  CHECK(*all.begin() >= in.shape.base);
  CHECK(*all.rbegin() < in.shape.base + in.shape.range);
}

TEST_CASE("TailAmong wants every tail port", "[bound]") {
  const std::vector<uint16_t> tail = {5, 7};
  CHECK(knock::TailAmong(tail, std::vector<uint16_t>{1, 7, 9, 5}));
  CHECK_FALSE(knock::TailAmong(tail, std::vector<uint16_t>{1, 7, 9}));
  CHECK_FALSE(knock::TailAmong(tail, std::vector<uint16_t>{}));
}

TEST_CASE("a shape too small for head and tail is refused", "[bound]") {
  knock::PairKey key;
  knock::BoundSequence bound;
  std::string err;
  CHECK_FALSE(knock::DeriveBoundSequence(key, {0, 0, "ssh"}, {1000, 10, 8},
                                         Address("198.18.0.2"), &bound, &err));
  CHECK(err == "no bound sequence of 12 distinct ports fits the range 1000+10");
}
