// The port tables the helper hands the sniffer: they round trip, and any
// image that is not exactly a well-formed encoding is refused by name.
#include <catch2/catch.hpp>
#include <string>

#include "knockd/shared/sequence_table_image.h"

namespace {

using knock::SequenceTableImage;

constexpr size_t kHeaderBytes = 46;
constexpr size_t kOwnerBytes = 10;
// Offsets of header fields.
constexpr size_t kFirstPortOffset = 8;
constexpr size_t kRangeSizeOffset = 10;
constexpr size_t kCountOffset = 14;
constexpr size_t kOldestWindowOffset = 30;
constexpr size_t kWindowCountOffset = 38;
constexpr size_t kOwnerCountOffset = 42;

// Two owners, three windows, two ports a sequence.
SequenceTableImage SmallImage() {
  SequenceTableImage image;
  image.first_port = 16384;
  image.range_size = 16384;
  image.count = 2;
  image.skew = 1;
  image.center_window = 1001;
  image.oldest_window = 999;
  image.window_count = 3;
  image.owners = {{0, 0, 0}, {7, 3, 255}};
  image.ports = {16384, 16385, 32767, 20000, 17000, 17001,
                 18000, 18001, 19000, 19001, 30000, 30001};
  return image;
}

std::string Error(const std::string& bytes) {
  SequenceTableImage image;
  std::string err;
  REQUIRE_FALSE(knock::DecodeTableImage(bytes, &image, &err));
  return err;
}

void PutU32(std::string* bytes, size_t offset, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    (*bytes)[offset + i] = static_cast<char>(value >> (8 * i));
}

}  // namespace

TEST_CASE("an image round trips field for field", "[table_image]") {
  const SequenceTableImage image = SmallImage();
  const std::string bytes = knock::EncodeTableImage(image);
  CHECK(bytes.size() == kHeaderBytes + 2 * kOwnerBytes + 12 * 2);
  CHECK(bytes.substr(0, 8) == "knocktb1");
  SequenceTableImage decoded;
  std::string err;
  REQUIRE(knock::DecodeTableImage(bytes, &decoded, &err));
  CHECK(decoded == image);
}

TEST_CASE("an image of no owners is well formed", "[table_image]") {
  SequenceTableImage image = SmallImage();
  image.owners.clear();
  image.ports.clear();
  SequenceTableImage decoded;
  std::string err;
  REQUIRE(
      knock::DecodeTableImage(knock::EncodeTableImage(image), &decoded, &err));
  CHECK(decoded == image);
}

TEST_CASE("an image one byte short or long is refused", "[table_image]") {
  const std::string bytes = knock::EncodeTableImage(SmallImage());
  CHECK(Error(bytes.substr(0, bytes.size() - 1)) ==
        "sequence table image: 89 bytes, expected 90 for 2 owners");
  CHECK(Error(bytes + '\0') ==
        "sequence table image: 91 bytes, expected 90 for 2 owners");
  CHECK(Error(bytes.substr(0, kHeaderBytes - 1)) ==
        "sequence table image: 45 bytes, shorter than its 46-byte header");
  CHECK(Error("") ==
        "sequence table image: 0 bytes, shorter than its 46-byte header");
}

TEST_CASE("an image with a bad header is refused", "[table_image]") {
  const std::string good = knock::EncodeTableImage(SmallImage());
  std::string bytes = good;
  bytes[0] = 'K';
  CHECK(Error(bytes) == "sequence table image: bad magic");

  bytes = good;
  PutU32(&bytes, kRangeSizeOffset, 0);
  CHECK(Error(bytes) == "sequence table image: range of 0 ports from 16384");
  bytes = good;
  PutU32(&bytes, kRangeSizeOffset, 49153);
  CHECK(Error(bytes) ==
        "sequence table image: range of 49153 ports from 16384");
  bytes = good;
  bytes[kFirstPortOffset] = static_cast<char>(0xff);
  bytes[kFirstPortOffset + 1] = static_cast<char>(0xff);
  PutU32(&bytes, kRangeSizeOffset, 1);
  CHECK(Error(bytes) == "sequence table image: port 16384 outside 65535-65535");

  for (uint32_t count : {0u, 65u}) {
    bytes = good;
    PutU32(&bytes, kCountOffset, count);
    CHECK(Error(bytes) ==
          "sequence table image: count " + std::to_string(count));
  }
  for (uint32_t windows : {0u, 65u}) {
    bytes = good;
    PutU32(&bytes, kWindowCountOffset, windows);
    CHECK(Error(bytes) == "sequence table image: window_count " +
                              std::to_string(windows) + " from window 999");
  }
  bytes = good;
  for (int i = 0; i < 8; ++i) bytes[kOldestWindowOffset + i] = char(0xff);
  CHECK(Error(bytes) ==
        "sequence table image: window_count 3 from window "
        "18446744073709551615");
}

TEST_CASE("an image whose owner count disagrees with its size is refused",
          "[table_image]") {
  const std::string good = knock::EncodeTableImage(SmallImage());
  std::string bytes = good;
  PutU32(&bytes, kOwnerCountOffset, 3);
  CHECK(Error(bytes) ==
        "sequence table image: 90 bytes, expected 112 for 3 owners");
  PutU32(&bytes, kOwnerCountOffset, UINT32_MAX);
  CHECK(Error(bytes) ==
        "sequence table image: 90 bytes, expected 94489280536 for 4294967295 "
        "owners");
}

TEST_CASE("an image with a port outside its range is refused",
          "[table_image]") {
  for (uint16_t port :
       {uint16_t{0}, uint16_t{16383}, uint16_t{32768}, uint16_t{65535}}) {
    SequenceTableImage image = SmallImage();
    image.ports[5] = port;
    CHECK(Error(knock::EncodeTableImage(image)) ==
          "sequence table image: port " + std::to_string(port) +
              " outside 16384-32767");
  }
}
