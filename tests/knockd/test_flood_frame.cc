// The flooders' frames (tests/tools/flood_frame.h), byte for byte against
// frames whose checksums tcpdump 4.99 verified ("cksum 0x71b6 (correct)",
// "udp sum ok", no "bad cksum" for the IPv4 header).
#include <catch2/catch.hpp>

#include "tools/flood_frame.h"

namespace {

knock::IpAddress Address(const char* text) {
  knock::IpAddress address;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(text, &address, &err));
  return address;
}

knock::FrameMacs Macs() {
  knock::FrameMacs macs;
  REQUIRE(knock::ParseMac("02:00:00:00:00:02", macs.dst));
  REQUIRE(knock::ParseMac("02:00:00:00:00:01", macs.src));
  return macs;
}

std::vector<uint8_t> Frame(knock::Transport transport, const char* src,
                           const char* dst) {
  return knock::BuildFloodFrame(Macs(), transport, Address(src), Address(dst),
                                40001, 16384);
}

}  // namespace

TEST_CASE("flood frames match known-good checksummed frames") {
  using knock::Transport;
  const std::vector<uint8_t> tcp_v4 = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x08, 0x00, 0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00,
      0x40, 0x06, 0xae, 0xa8, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00,
      0x02, 0x9c, 0x41, 0x40, 0x00, 0x6b, 0x6e, 0x6f, 0x63, 0x00, 0x00,
      0x00, 0x00, 0x50, 0x02, 0xfa, 0xf0, 0x71, 0xb6, 0x00, 0x00};
  const std::vector<uint8_t> tcp_v6 = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x14, 0x06, 0x40,
      0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x9c,
      0x41, 0x40, 0x00, 0x6b, 0x6e, 0x6f, 0x63, 0x00, 0x00, 0x00, 0x00,
      0x50, 0x02, 0xfa, 0xf0, 0xa2, 0x69, 0x00, 0x00};
  const std::vector<uint8_t> udp_v4 = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x08, 0x00, 0x45, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x00,
      0x40, 0x11, 0xae, 0xa9, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00,
      0x02, 0x9c, 0x41, 0x40, 0x00, 0x00, 0x08, 0x97, 0x74};
  const std::vector<uint8_t> udp_v6 = {
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x86, 0xdd, 0x60, 0x00, 0x00, 0x00, 0x00, 0x08, 0x11, 0x40,
      0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x9c,
      0x41, 0x40, 0x00, 0x00, 0x08, 0xc8, 0x27};
  CHECK(Frame(Transport::kTcp, "198.18.0.1", "198.18.0.2") == tcp_v4);
  CHECK(Frame(Transport::kTcp, "2001:db8::1", "2001:db8::2") == tcp_v6);
  CHECK(Frame(Transport::kUdp, "198.18.0.1", "198.18.0.2") == udp_v4);
  CHECK(Frame(Transport::kUdp, "2001:db8::1", "2001:db8::2") == udp_v6);
  // Control: the checksums follow the addresses (another source, other sums).
  const std::vector<uint8_t> other =
      Frame(Transport::kTcp, "198.18.0.3", "198.18.0.2");
  CHECK(other != tcp_v4);
  CHECK(std::vector<uint8_t>(other.begin() + 24, other.begin() + 26) !=
        std::vector<uint8_t>(tcp_v4.begin() + 24, tcp_v4.begin() + 26));
}

TEST_CASE("flood frames take a MAC as six hex bytes only") {
  uint8_t mac[knock::kMacBytes] = {};
  CHECK(knock::ParseMac("0a:1B:ff:00:7:80", mac));
  CHECK(std::vector<uint8_t>(mac, mac + 6) ==
        std::vector<uint8_t>{0x0a, 0x1b, 0xff, 0x00, 0x07, 0x80});
  CHECK_FALSE(knock::ParseMac("0a:1b:ff:00:07", mac));
  CHECK_FALSE(knock::ParseMac("0a:1b:ff:00:07:80:01", mac));
  CHECK_FALSE(knock::ParseMac("0a:1b:ff:00:07:100", mac));
  CHECK_FALSE(knock::ParseMac("bastion", mac));
}

TEST_CASE("flooders count spoofed IPv4 sources in host order") {
  CHECK(knock::Ipv4FromHostOrder(0xC6130001).ToString() == "198.19.0.1");
}

TEST_CASE("a replayed UDP payload frame has the lengths and IPv4 checksum",
          "[flood_frame]") {
  knock::FrameMacs macs;
  REQUIRE(knock::ParseMac("02:00:00:00:00:02", macs.dst));
  const uint8_t src[4] = {198, 19, 1, 2}, dst[4] = {198, 18, 0, 1};
  const std::vector<uint8_t> frame = knock::BuildUdpPayloadFrameV4(
      macs, knock::IpAddress::V4(src), knock::IpAddress::V4(dst), 40000, 62201,
      "spa");
  REQUIRE(frame.size() == 14 + 20 + 8 + 3);
  const uint8_t* ip = frame.data() + 14;
  CHECK(((ip[2] << 8) | ip[3]) == 31);
  CHECK(((ip[24] << 8) | ip[25]) == 11);
  CHECK(((ip[22] << 8) | ip[23]) == 62201);
  CHECK(std::string(frame.end() - 3, frame.end()) == "spa");
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  CHECK(sum == 0xffff);  // a header with a correct checksum sums to ~0
}
