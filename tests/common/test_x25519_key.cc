// X25519 keys: generation, text round trip and the refusal of public keys
// that would make every shared secret all zero.
#include <sodium.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/key_encoding.h"
#include "common/x25519_key.h"

namespace {

using knock::KeyBytes;

// What libsodium itself says: X25519 with a small-order point fails.
bool LibsodiumRefuses(const KeyBytes& point) {
  KeyBytes scalar;
  scalar.fill(0x5a);
  KeyBytes shared;
  return crypto_scalarmult(shared.data(), scalar.data(), point.data()) != 0;
}

std::vector<KeyBytes> SmallOrderPoints() {
  // u = 0, 1, the two points of order 8, p - 1, p, p + 1 (p = 2^255 - 19),
  // each also with bit 255 set.
  const char* hex[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"};
  std::vector<KeyBytes> points;
  for (const char* text : hex) {
    KeyBytes point;
    REQUIRE(sodium_hex2bin(point.data(), point.size(), text, 64, nullptr,
                           nullptr, nullptr) == 0);
    points.push_back(point);
    point[31] |= 0x80;
    points.push_back(point);
  }
  return points;
}

}  // namespace

TEST_CASE("small-order points are the ones libsodium refuses", "[x25519]") {
  REQUIRE(sodium_init() >= 0);
  for (const KeyBytes& point : SmallOrderPoints()) {
    CHECK(knock::IsSmallOrderPoint(point));
    CHECK(LibsodiumRefuses(point));
  }
  for (int i = 0; i < 2000; ++i) {
    KeyBytes point;
    randombytes_buf(point.data(), point.size());
    CHECK(knock::IsSmallOrderPoint(point) == LibsodiumRefuses(point));
  }
}

TEST_CASE("a small-order public key is refused by name", "[x25519]") {
  REQUIRE(sodium_init() >= 0);
  for (const KeyBytes& point : SmallOrderPoints()) {
    const std::string text = knock::EncodeKey(point);
    knock::PublicKey key;
    std::string err;
    REQUIRE_FALSE(knock::ParsePublicKey(text, &key, &err));
    const bool zero = sodium_is_zero(point.data(), point.size());
    CHECK(err == (zero ? "bad public key: it is all zero \"" + text + "\""
                       : "bad public key: it is a point of small order \"" +
                             text + "\""));
  }
}

TEST_CASE("a generated key's public half parses back", "[x25519]") {
  REQUIRE(sodium_init() >= 0);
  for (int i = 0; i < 100; ++i) {
    const knock::PrivateKey secret = knock::PrivateKey::Generate();
    const knock::PublicKey public_key = secret.Public();
    knock::PublicKey parsed;
    std::string err;
    REQUIRE(knock::ParsePublicKey(knock::EncodeKey(public_key.bytes), &parsed,
                                  &err));
    CHECK(sodium_memcmp(parsed.bytes.data(), public_key.bytes.data(),
                        knock::kKeyBytes) == 0);
  }
}
