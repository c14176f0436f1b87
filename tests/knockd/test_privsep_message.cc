// The messages between knockd's sniffer and its firewall helper: every type
// round trips, and every malformed message is refused with its exact error.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "knockd/shared/privsep_message.h"

namespace {

using knock::IpAddress;
using knock::PrivsepMessage;
using knock::PrivsepMessageType;
using knock::SequenceOwner;
using knock::Verdict;

// Sizes on the wire, type byte included, as the protocol fixes them.
constexpr size_t kReadyBytes = 1;
constexpr size_t kGrantBytes = 169;
constexpr size_t kRefusalBytes = 54;
constexpr size_t kReconfigureBytes = 17;
constexpr size_t kTableBytes = 9;
constexpr size_t kReconfiguredBytes = 2;
constexpr size_t kShutdownBytes = 1;
constexpr size_t kRefusalSummaryBytes = 123;

// Offsets of fields inside a grant and a refusal.
constexpr size_t kGrantSourceFamilyOffset = 1;
constexpr size_t kGrantTimeoutOffset = 36;
constexpr size_t kGrantPortCountOffset = 40;
constexpr size_t kGrantPortsOffset = 41;
constexpr size_t kRefusalVerdictOffset = 1;
constexpr size_t kRefusalSourceFamilyOffset = 2;
constexpr size_t kRefusalFirstSourceFamilyOffset = 19;

IpAddress Address(const std::string& text) {
  IpAddress address;
  std::string err;
  INFO(err);
  REQUIRE(IpAddress::Parse(text, &address, &err));
  return address;
}

SequenceOwner Owner() {
  SequenceOwner owner;
  owner.client = 0x01020304;
  owner.service = 0xa0b0c0d0;
  owner.window = 0x1122334455667788ULL;
  owner.slot = 0xfe;
  return owner;
}

void CheckSameOwner(const SequenceOwner& got, const SequenceOwner& want) {
  CHECK(got.client == want.client);
  CHECK(got.service == want.service);
  CHECK(got.window == want.window);
  CHECK(got.slot == want.slot);
}

PrivsepMessage DecodeFromSniffer(const std::vector<uint8_t>& bytes) {
  PrivsepMessage message;
  std::string err;
  const bool ok =
      knock::DecodeSnifferMessage(bytes.data(), bytes.size(), &message, &err);
  INFO(err);
  REQUIRE(ok);
  return message;
}

std::string SnifferError(const std::vector<uint8_t>& bytes) {
  PrivsepMessage message;
  std::string err;
  REQUIRE_FALSE(
      knock::DecodeSnifferMessage(bytes.data(), bytes.size(), &message, &err));
  return err;
}

std::string HelperError(const std::vector<uint8_t>& bytes) {
  PrivsepMessage message;
  std::string err;
  REQUIRE_FALSE(
      knock::DecodeHelperMessage(bytes.data(), bytes.size(), &message, &err));
  return err;
}

PrivsepMessage DecodeFromHelper(const std::vector<uint8_t>& bytes) {
  PrivsepMessage message;
  std::string err;
  const bool ok =
      knock::DecodeHelperMessage(bytes.data(), bytes.size(), &message, &err);
  INFO(err);
  REQUIRE(ok);
  return message;
}

const std::vector<uint16_t> kPorts = {16385, 20000, 32767, 17000,
                                      16384, 25000, 30000, 19999};

std::vector<uint8_t> Resized(std::vector<uint8_t> bytes, size_t size) {
  bytes.resize(size, 0);
  return bytes;
}

std::vector<uint8_t> ValidGrant() {
  return knock::EncodeGrant(Address("198.18.0.7"), Owner(), 30000, kPorts);
}

std::vector<uint8_t> ValidRefusal() {
  return knock::EncodeRefusal(Verdict::kReplay, Address("198.18.0.7"),
                              Address("198.18.0.8"), Owner());
}

knock::RefusalSummary Summary() {
  knock::RefusalSummary summary;
  summary.verdict = Verdict::kReplay;
  summary.owner = Owner();
  summary.first_source = Address("198.18.0.2");
  summary.second = 1800000000;
  summary.count = 16000;
  summary.sources = 2000;
  summary.sources_capped = true;
  summary.addresses = {Address("198.19.0.1"), Address("2001:db8::7"),
                       Address("198.19.0.3")};
  return summary;
}

std::vector<uint8_t> ValidSummary() {
  return knock::EncodeRefusalSummary(Summary());
}

// Offsets inside a refusal summary.
constexpr size_t kSummaryCountOffset = 28;
constexpr size_t kSummarySourcesOffset = 32;
constexpr size_t kSummaryCappedOffset = 36;
constexpr size_t kSummaryFirstSourceOffset = 37;
constexpr size_t kSummaryAddressCountOffset = 54;
constexpr size_t kSummaryAddressesOffset = 55;

}  // namespace

TEST_CASE("each message has its fixed size on the wire", "[privsep]") {
  CHECK(knock::EncodeReady().size() == kReadyBytes);
  CHECK(ValidGrant().size() == kGrantBytes);
  CHECK(ValidRefusal().size() == kRefusalBytes);
  CHECK(knock::EncodeReconfigure(100, 200).size() == kReconfigureBytes);
  CHECK(knock::EncodeTable(200).size() == kTableBytes);
  CHECK(knock::EncodeReconfigured(true).size() == kReconfiguredBytes);
  CHECK(knock::EncodeShutdown().size() == kShutdownBytes);
  CHECK(kRefusalBytes < knock::kMaxPrivsepMessageBytes);
  CHECK(ValidSummary().size() == kRefusalSummaryBytes);
  CHECK(kRefusalSummaryBytes < knock::kMaxPrivsepMessageBytes);
  CHECK(kGrantBytes < knock::kMaxPrivsepMessageBytes);
}

TEST_CASE("message names are shared by both sides", "[privsep]") {
  CHECK(std::string(knock::PrivsepMessageName(1)) == "ready");
  CHECK(std::string(knock::PrivsepMessageName(2)) == "grant");
  CHECK(std::string(knock::PrivsepMessageName(3)) == "refusal");
  CHECK(std::string(knock::PrivsepMessageName(4)) == "reconfigure");
  CHECK(std::string(knock::PrivsepMessageName(5)) == "reconfigured");
  CHECK(std::string(knock::PrivsepMessageName(6)) == "shutdown");
  CHECK(std::string(knock::PrivsepMessageName(7)) == "table");
  CHECK(std::string(knock::PrivsepMessageName(0)) == "unknown");
  CHECK(std::string(knock::PrivsepMessageName(16)) == "refusal summary");
  CHECK(std::string(knock::PrivsepMessageName(15)) == "unknown");
  CHECK(std::string(knock::PrivsepMessageName(17)) == "unknown");
  CHECK(std::string(knock::PrivsepMessageName(8)) == "unknown");
  CHECK(std::string(knock::PrivsepMessageName(255)) == "unknown");
}

TEST_CASE("ready and shutdown round trip", "[privsep]") {
  CHECK(DecodeFromSniffer(knock::EncodeReady()).type ==
        PrivsepMessageType::kReady);
  CHECK(DecodeFromSniffer(knock::EncodeShutdown()).type ==
        PrivsepMessageType::kShutdown);

  const std::vector<uint8_t> shutdown = knock::EncodeShutdown();
  CHECK(DecodeFromHelper(shutdown).type == PrivsepMessageType::kShutdown);
}

TEST_CASE("a grant round trips for IPv4 and IPv6", "[privsep]") {
  for (const char* text : {"198.18.0.7", "2001:db8::1:2:3"}) {
    INFO(text);
    const IpAddress source = Address(text);
    const std::vector<uint8_t> bytes =
        knock::EncodeGrant(source, Owner(), 45000, kPorts);
    const PrivsepMessage message = DecodeFromSniffer(bytes);
    CHECK(message.type == PrivsepMessageType::kGrant);
    CHECK(message.source == source);
    CHECK(message.source.ToString() == text);
    CheckSameOwner(message.owner, Owner());
    CHECK(message.timeout_ms == 45000);
    CHECK(std::vector<uint16_t>(message.grant_ports().begin(),
                                message.grant_ports().end()) == kPorts);
  }
}

TEST_CASE("a grant carries one to 64 ports of evidence", "[privsep]") {
  for (size_t count : {size_t{1}, size_t{2}, size_t{63}, size_t{64}}) {
    INFO(count);
    std::vector<uint16_t> ports;
    for (size_t i = 0; i < count; ++i)
      ports.push_back(static_cast<uint16_t>(0xFFFF - i));
    const PrivsepMessage message = DecodeFromSniffer(
        knock::EncodeGrant(Address("198.18.0.7"), Owner(), 1, ports));
    CHECK(message.port_count == count);
    CHECK(std::vector<uint16_t>(message.grant_ports().begin(),
                                message.grant_ports().end()) == ports);
  }
}

TEST_CASE("a grant's evidence has exactly one form", "[privsep]") {
  SECTION("no port") {
    std::vector<uint8_t> bytes = ValidGrant();
    bytes[kGrantPortCountOffset] = 0;
    std::fill(bytes.begin() + kGrantPortsOffset, bytes.end(), 0);
    CHECK(SnifferError(bytes) == "grant message: port_count 0");
  }
  SECTION("more than 64") {
    std::vector<uint8_t> bytes = ValidGrant();
    bytes[kGrantPortCountOffset] = 65;
    CHECK(SnifferError(bytes) == "grant message: port_count 65");
  }
  SECTION("a port beyond the count") {
    std::vector<uint8_t> bytes = ValidGrant();
    bytes[kGrantPortsOffset + 2 * 8] = 1;
    CHECK(SnifferError(bytes) ==
          "grant message: port 8 is 1 with port_count 8");
    bytes = ValidGrant();
    bytes[kGrantBytes - 1] = 0x80;
    CHECK(SnifferError(bytes) ==
          "grant message: port 63 is 32768 with port_count 8");
  }
  SECTION("port 0 within the count") {
    std::vector<uint8_t> bytes = ValidGrant();
    bytes[kGrantPortsOffset + 2 * 3] = 0;
    bytes[kGrantPortsOffset + 2 * 3 + 1] = 0;
    CHECK(SnifferError(bytes) ==
          "grant message: port 3 is 0 with port_count 8");
  }
}

TEST_CASE("a grant keeps the largest timeout and owner fields", "[privsep]") {
  SequenceOwner owner;
  owner.client = UINT32_MAX;
  owner.service = UINT32_MAX;
  owner.window = UINT64_MAX;
  owner.slot = UINT8_MAX;
  const PrivsepMessage message = DecodeFromSniffer(
      knock::EncodeGrant(Address("198.18.0.7"), owner, UINT32_MAX, kPorts));
  CheckSameOwner(message.owner, owner);
  CHECK(message.timeout_ms == UINT32_MAX);
}

TEST_CASE("a replay refusal carries who used the sequence first", "[privsep]") {
  for (auto [source_text, first_text] :
       {std::pair{"198.18.0.7", "198.18.0.8"},
        std::pair{"2001:db8::7", "2001:db8::8"},
        std::pair{"198.18.0.7", "2001:db8::8"}}) {
    INFO(source_text << " " << first_text);
    const PrivsepMessage message = DecodeFromSniffer(knock::EncodeRefusal(
        Verdict::kReplay, Address(source_text), Address(first_text), Owner()));
    CHECK(message.type == PrivsepMessageType::kRefusal);
    CHECK(message.verdict == Verdict::kReplay);
    CHECK(message.source == Address(source_text));
    CHECK(message.first_source == Address(first_text));
    CheckSameOwner(message.owner, Owner());
  }
}

TEST_CASE("an expired-window refusal travels without a first source",
          "[privsep]") {
  for (const char* text : {"198.18.0.7", "2001:db8::7"}) {
    INFO(text);
    // The matcher fills first_source for every event; the wire drops it.
    const std::vector<uint8_t> bytes = knock::EncodeRefusal(
        Verdict::kExpiredWindow, Address(text), Address(text), Owner());
    for (size_t i = kRefusalFirstSourceFamilyOffset;
         i < kRefusalFirstSourceFamilyOffset + 17; ++i)
      CHECK(bytes[i] == 0);
    const PrivsepMessage message = DecodeFromSniffer(bytes);
    CHECK(message.verdict == Verdict::kExpiredWindow);
    CHECK(message.source == Address(text));
    CHECK(message.first_source == IpAddress());
    CheckSameOwner(message.owner, Owner());
  }
}

TEST_CASE("reconfigured round trips both answers", "[privsep]") {
  CHECK(DecodeFromSniffer(knock::EncodeReconfigured(true)).accepted);
  const PrivsepMessage refused =
      DecodeFromSniffer(knock::EncodeReconfigured(false));
  CHECK(refused.type == PrivsepMessageType::kReconfigured);
  CHECK_FALSE(refused.accepted);
}

TEST_CASE("a reconfigure message carries sizes only, no key", "[privsep]") {
  const std::vector<uint8_t> bytes = knock::EncodeReconfigure(1234, 0x10000);
  const std::vector<uint8_t> want = {4, 0xd2, 0x04, 0, 0, 0, 0, 0, 0,
                                     0, 0,    1,    0, 0, 0, 0, 0};
  CHECK(bytes == want);
  const PrivsepMessage message = DecodeFromHelper(bytes);
  CHECK(message.type == PrivsepMessageType::kReconfigure);
  CHECK(message.config_bytes == 1234);
  CHECK(message.image_bytes == 0x10000);
}

TEST_CASE("a table message carries the image's size", "[privsep]") {
  const PrivsepMessage message = DecodeFromHelper(knock::EncodeTable(4321));
  CHECK(message.type == PrivsepMessageType::kTable);
  CHECK(message.image_bytes == 4321);
  CHECK(message.config_bytes == 0);
  CHECK(DecodeFromHelper(knock::EncodeTable(uint64_t{1} << 30)).image_bytes ==
        uint64_t{1} << 30);
}

TEST_CASE("sizes out of bounds are refused", "[privsep]") {
  CHECK(HelperError(knock::EncodeTable(0)) == "table message: image_bytes 0");
  CHECK(HelperError(knock::EncodeTable((uint64_t{1} << 30) + 1)) ==
        "table message: image_bytes 1073741825");
  CHECK(HelperError(knock::EncodeReconfigure(0, 10)) ==
        "reconfigure message: config_bytes 0");
  CHECK(HelperError(knock::EncodeReconfigure((uint64_t{65} << 20) + 1, 10)) ==
        "reconfigure message: config_bytes 68157441");
  CHECK(HelperError(knock::EncodeReconfigure(10, 0)) ==
        "reconfigure message: image_bytes 0");
  CHECK(HelperError(knock::EncodeReconfigure(10, UINT64_MAX)) ==
        "reconfigure message: image_bytes 18446744073709551615");
}

TEST_CASE("every sniffer message one byte short or long is refused",
          "[privsep]") {
  CHECK(SnifferError(Resized(knock::EncodeReady(), 0)) == "empty message");
  CHECK(SnifferError(Resized(knock::EncodeReady(), 2)) ==
        "ready message of 2 bytes, expected 1");
  CHECK(SnifferError(Resized(ValidGrant(), 168)) ==
        "grant message of 168 bytes, expected 169");
  CHECK(SnifferError(Resized(ValidGrant(), 170)) ==
        "grant message of 170 bytes, expected 169");
  CHECK(SnifferError(Resized(ValidRefusal(), 53)) ==
        "refusal message of 53 bytes, expected 54");
  CHECK(SnifferError(Resized(ValidRefusal(), 55)) ==
        "refusal message of 55 bytes, expected 54");
  CHECK(SnifferError(Resized(knock::EncodeReconfigured(true), 1)) ==
        "reconfigured message of 1 bytes, expected 2");
  CHECK(SnifferError(Resized(knock::EncodeReconfigured(true), 3)) ==
        "reconfigured message of 3 bytes, expected 2");
  CHECK(SnifferError(Resized(knock::EncodeShutdown(), 0)) == "empty message");
  CHECK(SnifferError(Resized(knock::EncodeShutdown(), 2)) ==
        "shutdown message of 2 bytes, expected 1");
  CHECK(SnifferError(Resized(ValidSummary(), 122)) ==
        "refusal summary message of 122 bytes, expected 123");
  CHECK(SnifferError(Resized(ValidSummary(), 124)) ==
        "refusal summary message of 124 bytes, expected 123");
}

TEST_CASE("every helper message one byte short or long is refused",
          "[privsep]") {
  const std::vector<uint8_t> reconfigure = knock::EncodeReconfigure(10, 20);
  CHECK(HelperError(Resized(reconfigure, 16)) ==
        "reconfigure message of 16 bytes, expected 17");
  CHECK(HelperError(Resized(reconfigure, 18)) ==
        "reconfigure message of 18 bytes, expected 17");
  const std::vector<uint8_t> table = knock::EncodeTable(20);
  CHECK(HelperError(Resized(table, 8)) ==
        "table message of 8 bytes, expected 9");
  CHECK(HelperError(Resized(table, 10)) ==
        "table message of 10 bytes, expected 9");
  CHECK(HelperError(Resized(knock::EncodeShutdown(), 0)) == "empty message");
  CHECK(HelperError(Resized(knock::EncodeShutdown(), 2)) ==
        "shutdown message of 2 bytes, expected 1");
}

TEST_CASE("a message the protocol does not define is refused", "[privsep]") {
  for (uint8_t type : {0, 8, 9, 11, 15, 17, 255}) {
    INFO(int{type});
    const std::string want =
        "unexpected message type " + std::to_string(type) + " (unknown)";
    CHECK(SnifferError({type}) == want);
    CHECK(HelperError({type}) == want);
    CHECK(SnifferError(std::vector<uint8_t>(kGrantBytes, type)) == want);
  }
}

TEST_CASE("each side refuses the other side's messages", "[privsep]") {
  CHECK(HelperError(knock::EncodeReady()) ==
        "unexpected message type 1 (ready)");
  CHECK(HelperError(ValidGrant()) == "unexpected message type 2 (grant)");
  CHECK(HelperError(ValidRefusal()) == "unexpected message type 3 (refusal)");
  CHECK(HelperError(knock::EncodeReconfigured(true)) ==
        "unexpected message type 5 (reconfigured)");
  CHECK(SnifferError(knock::EncodeReconfigure(10, 20)) ==
        "unexpected message type 4 (reconfigure)");
  CHECK(SnifferError(knock::EncodeTable(20)) ==
        "unexpected message type 7 (table)");
}

TEST_CASE("a grant with a bad source or timeout is refused", "[privsep]") {
  for (uint8_t family : {0, 1, 5, 7, 255}) {
    INFO(int{family});
    std::vector<uint8_t> bytes = ValidGrant();
    bytes[kGrantSourceFamilyOffset] = family;
    CHECK(SnifferError(bytes) ==
          "grant message: source is not an address "
          "(family " +
              std::to_string(family) + ")");
  }
  SECTION("a grant source may not be none, even all zero") {
    std::vector<uint8_t> bytes = ValidGrant();
    std::fill(bytes.begin() + 1, bytes.begin() + 18, 0);
    CHECK(SnifferError(bytes) ==
          "grant message: source is not an address (family 0)");
  }
  SECTION("IPv4 with nonzero padding") {
    for (size_t pad = 4; pad < 16; ++pad) {
      INFO(pad);
      std::vector<uint8_t> bytes = ValidGrant();
      bytes[kGrantSourceFamilyOffset + 1 + pad] = 1;
      CHECK(SnifferError(bytes) ==
            "grant message: source is not an address (family 4)");
    }
  }
  SECTION("timeout 0") {
    std::vector<uint8_t> bytes = ValidGrant();
    std::fill(bytes.begin() + kGrantTimeoutOffset,
              bytes.begin() + kGrantTimeoutOffset + 4, 0);
    CHECK(SnifferError(bytes) == "grant message: timeout_ms is 0");
  }
}

TEST_CASE("a refusal with a bad verdict or address is refused", "[privsep]") {
  SECTION("a grant verdict is not a refusal") {
    for (Verdict verdict : {Verdict::kGranted, Verdict::kRefreshed}) {
      std::vector<uint8_t> bytes = ValidRefusal();
      bytes[kRefusalVerdictOffset] = static_cast<uint8_t>(verdict);
      CHECK(SnifferError(bytes) ==
            "refusal message: verdict " +
                std::to_string(static_cast<int>(verdict)) +
                " is not a refusal");
    }
    std::vector<uint8_t> bytes = ValidRefusal();
    bytes[kRefusalVerdictOffset] = 200;
    CHECK(SnifferError(bytes) ==
          "refusal message: verdict 200 is not a refusal");
  }
  SECTION("bad source family") {
    std::vector<uint8_t> bytes = ValidRefusal();
    bytes[kRefusalSourceFamilyOffset] = 5;
    CHECK(SnifferError(bytes) ==
          "refusal message: source is not an address (family 5)");
  }
  SECTION("bad first_source family") {
    std::vector<uint8_t> bytes = ValidRefusal();
    bytes[kRefusalFirstSourceFamilyOffset] = 9;
    CHECK(SnifferError(bytes) ==
          "refusal message: first_source is not an address (family 9)");
  }
  SECTION("IPv4 first_source with nonzero padding") {
    std::vector<uint8_t> bytes = ValidRefusal();
    bytes[kRefusalFirstSourceFamilyOffset + 1 + 15] = 1;
    CHECK(SnifferError(bytes) ==
          "refusal message: first_source is not an address (family 4)");
  }
  SECTION("no address with nonzero bytes") {
    std::vector<uint8_t> bytes = knock::EncodeRefusal(
        Verdict::kExpiredWindow, Address("198.18.0.7"), IpAddress(), Owner());
    bytes[kRefusalFirstSourceFamilyOffset + 1] = 1;
    CHECK(SnifferError(bytes) ==
          "refusal message: first_source of an expired window is not none "
          "(family 0)");
  }
}

TEST_CASE("an owner's bound flag is 0 or 1", "[privsep]") {
  std::vector<uint8_t> bytes = ValidGrant();
  // The flag is the owner's last byte, just before the timeout.
  CHECK(bytes[kGrantTimeoutOffset - 1] == 0);
  bytes[kGrantTimeoutOffset - 1] = 1;
  knock::PrivsepMessage message;
  std::string err;
  REQUIRE(
      knock::DecodeSnifferMessage(bytes.data(), bytes.size(), &message, &err));
  CHECK(message.owner.bound);
  bytes[kGrantTimeoutOffset - 1] = 2;
  CHECK(SnifferError(bytes) == "grant message: bound flag 2");
}

TEST_CASE("a replay refusal must name its first source", "[privsep]") {
  // Found by fuzz_privsep_message: a replay whose first_source was "none"
  // decoded as 0.0.0.0 and re-encoded as family 4. The fuzzer's input:
  const std::vector<uint8_t> found = {
      0x03, 0x02, 0x04, 0xc6, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x2a, 0xaa, 0x60, 0x03, 0xff, 0xfd, 0x00, 0x00, 0x02, 0x00};
  REQUIRE(found.size() == kRefusalBytes);
  CHECK(SnifferError(found) ==
        "refusal message: first_source is not an address (family 0)");
  std::vector<uint8_t> bytes = ValidRefusal();
  std::fill(bytes.begin() + kRefusalFirstSourceFamilyOffset,
            bytes.begin() + kRefusalFirstSourceFamilyOffset + 17, 0);
  CHECK(SnifferError(bytes) ==
        "refusal message: first_source is not an address (family 0)");
}

TEST_CASE("an expired-window refusal may not name a first source",
          "[privsep]") {
  // Found by fuzz_privsep_message: the first source of an expired window
  // was decoded, though the sniffer never sends one.
  std::vector<uint8_t> bytes = ValidRefusal();
  bytes[kRefusalVerdictOffset] = static_cast<uint8_t>(Verdict::kExpiredWindow);
  CHECK(SnifferError(bytes) ==
        "refusal message: first_source of an expired window is not none "
        "(family 4)");
}

TEST_CASE("reconfigured accepts only 0 and 1", "[privsep]") {
  for (uint8_t accepted : {2, 128, 255}) {
    std::vector<uint8_t> bytes = knock::EncodeReconfigured(true);
    bytes[1] = accepted;
    CHECK(SnifferError(bytes) ==
          "reconfigured message: accepted is " + std::to_string(accepted));
  }
}

TEST_CASE("a refusal summary round trips", "[privsep]") {
  const knock::RefusalSummary want = Summary();
  const PrivsepMessage got = DecodeFromSniffer(ValidSummary());
  CHECK(got.type == PrivsepMessageType::kRefusalSummary);
  CHECK(got.verdict == Verdict::kReplay);
  CheckSameOwner(got.owner, want.owner);
  CheckSameOwner(got.summary.owner, want.owner);
  CHECK(got.summary.first_source == want.first_source);
  CHECK(got.first_source == want.first_source);
  CHECK(got.summary.second == want.second);
  CHECK(got.summary.count == 16000);
  CHECK(got.summary.sources == 2000);
  CHECK(got.summary.sources_capped);
  CHECK(got.summary.addresses == want.addresses);
  CHECK(got.source == want.addresses[0]);

  knock::RefusalSummary expired = Summary();
  expired.verdict = Verdict::kExpiredWindow;
  expired.first_source = IpAddress();
  expired.count = expired.sources = 1;
  expired.sources_capped = false;
  expired.addresses.resize(1);
  const PrivsepMessage e =
      DecodeFromSniffer(knock::EncodeRefusalSummary(expired));
  CHECK(e.summary.verdict == Verdict::kExpiredWindow);
  CHECK(e.summary.addresses.size() == 1);
  CHECK_FALSE(e.summary.sources_capped);
}

TEST_CASE("a refusal summary out of range is refused", "[privsep]") {
  std::vector<uint8_t> bytes = ValidSummary();
  bytes[1] = static_cast<uint8_t>(Verdict::kGranted);
  CHECK(SnifferError(bytes) ==
        "refusal summary message: verdict 0 is not a refusal");

  bytes = ValidSummary();
  for (int i = 0; i < 4; ++i) bytes[kSummaryCountOffset + i] = 0;
  CHECK(SnifferError(bytes) == "refusal summary message: count is 0");

  bytes = ValidSummary();
  for (int i = 0; i < 4; ++i) bytes[kSummarySourcesOffset + i] = 0;
  CHECK(SnifferError(bytes) ==
        "refusal summary message: sources 0 of count 16000");
  // More sources than refusals.
  bytes = ValidSummary();
  bytes[kSummarySourcesOffset] = 0x81;
  bytes[kSummarySourcesOffset + 1] = 0x3e;
  CHECK(SnifferError(bytes) ==
        "refusal summary message: sources 16001 of count 16000");

  bytes = ValidSummary();
  bytes[kSummaryCappedOffset] = 2;
  CHECK(SnifferError(bytes) == "refusal summary message: sources_capped is 2");

  bytes = ValidSummary();
  bytes[kSummaryFirstSourceOffset] = 0;
  CHECK(SnifferError(bytes) ==
        "refusal summary message: first_source is not an address (family 0)");

  for (uint8_t count : {0, 5, 255}) {
    bytes = ValidSummary();
    bytes[kSummaryAddressCountOffset] = count;
    CHECK(SnifferError(bytes) ==
          "refusal summary message: address count " + std::to_string(count));
  }
  // Three addresses named: the fourth slot must be none.
  bytes = ValidSummary();
  bytes[kSummaryAddressesOffset + 3 * 17] = 4;
  CHECK(SnifferError(bytes) ==
        "refusal summary message: address of an unused slot is not none "
        "(family 4)");
  // And a named slot must be an address.
  bytes = ValidSummary();
  bytes[kSummaryAddressesOffset + 2 * 17] = 0;
  CHECK(SnifferError(bytes) ==
        "refusal summary message: address is not an address (family 0)");
}

TEST_CASE("an expired-window summary may not name a first source",
          "[privsep]") {
  // The encoder never writes it: a replay's summary with its verdict
  // changed.
  std::vector<uint8_t> bytes = ValidSummary();
  bytes[1] = static_cast<uint8_t>(Verdict::kExpiredWindow);
  CHECK(SnifferError(bytes) ==
        "refusal summary message: first_source of an expired window is not "
        "none (family 4)");
}

TEST_CASE("the helper never takes a refusal summary", "[privsep]") {
  CHECK(HelperError(ValidSummary()) ==
        "unexpected message type 16 (refusal summary)");
}

TEST_CASE("stats round trip every counter at its full width", "[privsep]") {
  knock::SnifferStats stats;
  stats.capture_received = 0x0102030405060708ULL;
  stats.capture_dropped = 0xffffffffffffffffULL;
  stats.frames = 3;
  stats.knocks = 4;
  stats.evictions = 5;
  stats.sources = 0xfedcba98;
  const std::vector<uint8_t> bytes = knock::EncodeStats(stats);
  REQUIRE(bytes.size() == 45);
  CHECK(bytes[0] == 10);
  CHECK(bytes[1] == 0x08);  // little-endian
  const PrivsepMessage message = DecodeFromSniffer(bytes);
  CHECK(message.type == PrivsepMessageType::kStats);
  CHECK(message.stats.capture_received == stats.capture_received);
  CHECK(message.stats.capture_dropped == stats.capture_dropped);
  CHECK(message.stats.frames == 3);
  CHECK(message.stats.knocks == 4);
  CHECK(message.stats.evictions == 5);
  CHECK(message.stats.sources == 0xfedcba98);
  CHECK(std::string(knock::PrivsepMessageName(10)) == "stats");
}

TEST_CASE("stats one byte short or long is refused, and never by the sniffer",
          "[privsep]") {
  const std::vector<uint8_t> stats = knock::EncodeStats({});
  CHECK(SnifferError(Resized(stats, 44)) ==
        "stats message of 44 bytes, expected 45");
  CHECK(SnifferError(Resized(stats, 46)) ==
        "stats message of 46 bytes, expected 45");
  CHECK(HelperError(stats) == "unexpected message type 10 (stats)");
}

TEST_CASE("a grant's first evidence port is at byte 41 (little-endian)") {
  // tests/tools/lying_sniffer_shim.cc rewrites it there: when the layout
  // moves, this fails before the end-to-end lie silently stops happening.
  const std::vector<uint8_t> grant = ValidGrant();
  REQUIRE(grant.size() == 169);
  CHECK((grant[41] | (grant[42] << 8)) == kPorts[0]);
}
