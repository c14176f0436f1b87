// knock/v1 sections 2-3: the shared test vectors, bit for bit, and the
// properties every sequence has.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/knock_sequence.h"
#include "common/pair_key.h"

namespace {

nlohmann::json LoadVectors() {
  std::ifstream in(std::string(KNOCK_TEST_DATA_DIR) + "/knock-v1.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

knock::PrivateKey Private(const std::string& text) {
  knock::PrivateKey key;
  std::string err;
  REQUIRE(knock::PrivateKey::FromText(text, &key, &err));
  return key;
}

knock::PublicKey Public(const std::string& text) {
  knock::PublicKey key;
  std::string err;
  REQUIRE(knock::ParsePublicKey(text, &key, &err));
  return key;
}

std::string Hex(const knock::KeyBytes& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : bytes) {
    hex += kDigits[b >> 4];
    hex += kDigits[b & 15];
  }
  return hex;
}

knock::PairKey ClientSidePairKey(const nlohmann::json& v) {
  knock::PairKey key;
  std::string err;
  REQUIRE(knock::DerivePairKey(Private(v["client_private"]),
                               Public(v["server_public"]),
                               knock::PairRole::kClient, &key, &err));
  return key;
}

}  // namespace

TEST_CASE("every shared vector reproduces bit for bit", "[sequence]") {
  const nlohmann::json vectors = LoadVectors();
  REQUIRE(vectors["protocol"] == "knock/v1");
  REQUIRE(vectors["vectors"].size() == 4);
  for (const auto& v : vectors["vectors"]) {
    CAPTURE(v["service"], v["window"], v["slot"]);
    CHECK(Private(v["client_private"]).Public().ToText() == v["client_public"]);
    CHECK(Private(v["server_private"]).Public().ToText() == v["server_public"]);

    knock::PairKey client_side = ClientSidePairKey(v);
    knock::PairKey server_side;
    std::string err;
    REQUIRE(knock::DerivePairKey(Private(v["server_private"]),
                                 Public(v["client_public"]),
                                 knock::PairRole::kServer, &server_side, &err));
    CHECK(Hex(client_side.bytes()) == v["pair_key_hex"]);
    CHECK(Hex(server_side.bytes()) == v["pair_key_hex"]);

    const std::string service = v["service"];
    knock::SequenceId id{v["window"].get<uint64_t>(), v["slot"].get<uint8_t>(),
                         service};
    knock::SequenceShape shape{v["base"].get<uint16_t>(),
                               v["range"].get<uint32_t>(), v["n"].get<int>()};
    std::vector<uint16_t> ports;
    REQUIRE(knock::DeriveSequence(client_side, id, shape, &ports, &err));
    CHECK(ports == v["ports"].get<std::vector<uint16_t>>());
  }
}

TEST_CASE("another server, service or slot changes the sequence",
          "[sequence]") {
  const nlohmann::json v = LoadVectors()["vectors"][0];
  knock::PairKey key = ClientSidePairKey(v);
  knock::SequenceShape shape{40000, 16384, 8};
  std::string err;
  std::vector<uint16_t> base_ports, other;
  REQUIRE(knock::DeriveSequence(key, {7, 0, "ssh"}, shape, &base_ports, &err));

  REQUIRE(knock::DeriveSequence(key, {7, 1, "ssh"}, shape, &other, &err));
  CHECK(other != base_ports);
  REQUIRE(knock::DeriveSequence(key, {7, 0, "https"}, shape, &other, &err));
  CHECK(other != base_ports);
  REQUIRE(knock::DeriveSequence(key, {8, 0, "ssh"}, shape, &other, &err));
  CHECK(other != base_ports);

  knock::PairKey other_server;
  REQUIRE(knock::DerivePairKey(Private(v["client_private"]),
                               knock::PrivateKey::Generate().Public(),
                               knock::PairRole::kClient, &other_server, &err));
  REQUIRE(
      knock::DeriveSequence(other_server, {7, 0, "ssh"}, shape, &other, &err));
  CHECK(other != base_ports);
}

TEST_CASE("a sequence always has count distinct ports inside the range",
          "[sequence]") {
  knock::PairKey key;
  std::string err;
  REQUIRE(knock::DerivePairKey(knock::PrivateKey::Generate(),
                               knock::PrivateKey::Generate().Public(),
                               knock::PairRole::kClient, &key, &err));
  const knock::SequenceShape shapes[] = {
      {16384, 16384, 8}, {1024, 256, 12}, {60000, 5536, 8}, {0, 20, 20}};
  for (const auto& shape : shapes) {
    for (uint64_t window = 0; window < 50; ++window) {
      std::vector<uint16_t> ports;
      REQUIRE(
          knock::DeriveSequence(key, {window, 0, "ssh"}, shape, &ports, &err));
      REQUIRE(ports.size() == static_cast<size_t>(shape.count));
      CHECK(std::set<uint16_t>(ports.begin(), ports.end()).size() ==
            ports.size());
      for (uint16_t port : ports) {
        CHECK(port >= shape.base);
        CHECK(port < shape.base + shape.range);
      }
    }
  }
}

TEST_CASE("impossible shapes and service names are refused", "[sequence]") {
  knock::PairKey key;
  std::vector<uint16_t> ports;
  std::string err;
  CHECK_FALSE(
      knock::DeriveSequence(key, {0, 0, "ssh"}, {100, 4, 5}, &ports, &err));
  CHECK(err == "no sequence of 5 distinct ports fits the range 100+4");
  CHECK_FALSE(
      knock::DeriveSequence(key, {0, 0, ""}, {100, 400, 5}, &ports, &err));
  CHECK(err == "a service name is 1 to 64 bytes, got \"\"");
}

TEST_CASE("windows are floor(unix_time / step)", "[sequence]") {
  CHECK(knock::WindowAt(0, 30) == 0);
  CHECK(knock::WindowAt(29, 30) == 0);
  CHECK(knock::WindowAt(30, 30) == 1);
  CHECK(knock::WindowAt(1740000000, 30) == 58000000);
}
