// The text form of keys: 44 characters of standard base64, one text per key.
#include <catch2/catch.hpp>
#include <string>

#include "common/key_encoding.h"

namespace {

knock::KeyBytes Counting() {
  knock::KeyBytes key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i + 1);
  return key;
}

}  // namespace

TEST_CASE("EncodeKey and DecodeKey round-trip") {
  const std::string text = knock::EncodeKey(Counting());
  CHECK(text == "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=");
  knock::KeyBytes decoded{};
  std::string err;
  REQUIRE(knock::DecodeKey(text, &decoded, &err));
  CHECK(decoded == Counting());
}

TEST_CASE("DecodeKey refuses the wrong length and a missing pad") {
  knock::KeyBytes key{};
  std::string err;
  CHECK_FALSE(knock::DecodeKey("AQID", &key, &err));
  CHECK(err == "a key is 44 base64 characters, got 4 \"AQID\"");
  const std::string no_pad = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAA";
  CHECK_FALSE(knock::DecodeKey(no_pad, &key, &err));
  CHECK(err == "a key ends in one '=' pad \"" + no_pad + "\"");
}

TEST_CASE("DecodeKey refuses non-canonical padding bits") {
  knock::KeyBytes key{};
  std::string err;
  const std::string text = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=";
  CHECK_FALSE(knock::DecodeKey(text, &key, &err));
  CHECK(err == "a key is standard base64 (A-Z a-z 0-9 + /) \"" + text + "\"");
}

// Found by fuzz_key_text: libsodium 1.0.18 decodes bytes 0x80..0xff as
// digits, so this text decoded to a key that encodes to other text.
TEST_CASE("DecodeKey refuses bytes outside the base64 alphabet") {
  knock::KeyBytes key{};
  std::string err;
  const std::string text =
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\xd8"
      "AAAAAAAA=";
  CHECK_FALSE(knock::DecodeKey(text, &key, &err));
  CHECK(err == "a key is standard base64 (A-Z a-z 0-9 + /) \"" + text + "\"");
  for (int c = 0x80; c <= 0xff; ++c) {
    std::string high = text;
    high[34] = static_cast<char>(c);
    CHECK_FALSE(knock::DecodeKey(high, &key, &err));
  }
  CHECK_FALSE(knock::DecodeKey(text, &key, &err, /*text_is_secret=*/true));
  CHECK(err ==
        "a key is standard base64 (A-Z a-z 0-9 + /) (secret, not shown)");
}

TEST_CASE("DecodeKey refuses the URL-safe alphabet") {
  knock::KeyBytes key{};
  std::string err;
  const std::string text = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eH-_=";
  CHECK_FALSE(knock::DecodeKey(text, &key, &err));
  CHECK(err == "a key is standard base64 (A-Z a-z 0-9 + /) \"" + text + "\"");
}
