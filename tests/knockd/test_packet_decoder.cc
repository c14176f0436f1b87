// PacketDecoder against crafted and hostile frames: every link type, every
// truncation, every header the decoder walks, and random bytes.
#include <pcap/dlt.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "knockd/sniffer/packet_decoder.h"
#include "knockd/sniffer/pcap_writer.h"

namespace {

using knock::DropReason;
using knock::IpAddress;
using knock::KnockProtocol;
using Bytes = std::vector<uint8_t>;

constexpr int64_t kTimeUs = 1700000000123456;
constexpr uint16_t kKnockPort = 20000;
constexpr uint16_t kSourcePort = 40000;
constexpr int kLinktypeRaw = 101;

// Also used for constants initialised before Catch runs, so no REQUIRE; a
// typo in a literal stops the run.
IpAddress Ip(const char* text) {
  IpAddress address;
  std::string err;
  if (!IpAddress::Parse(text, &address, &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    std::abort();
  }
  return address;
}

const IpAddress kSrc4 = Ip("198.18.0.1");
const IpAddress kDst4 = Ip("198.19.0.1");
const IpAddress kSrc6 = Ip("2001:db8::1");
const IpAddress kDst6 = Ip("2001:db8::2");

knock::KnockSettings Settings(KnockProtocol protocol = KnockProtocol::kTcp) {
  knock::KnockSettings settings;
  settings.ports = {16384, 32767};
  settings.protocol = protocol;
  return settings;
}

// "knock" or the name of the reason the single frame was dropped for; the
// frame is copied to a buffer of exactly its size so that a sanitizer sees
// any read past it.
std::string Verdict(const Bytes& frame, int link_type,
                    KnockProtocol protocol = KnockProtocol::kTcp,
                    knock::Knock* knock_out = nullptr) {
  knock::PacketDecoder decoder(Settings(protocol));
  const Bytes exact(frame.begin(), frame.end());
  knock::Frame f{link_type, exact.empty() ? nullptr : exact.data(),
                 static_cast<uint32_t>(exact.size()), kTimeUs};
  knock::Knock knock;
  const bool ok = decoder.Decode(f, &knock);
  const knock::DecodeStats& stats = decoder.stats();
  uint64_t total = stats.knocks;
  std::string verdict = ok ? "knock" : "none";
  for (int i = 0; i < static_cast<int>(DropReason::kCount); ++i) {
    total += stats.dropped[i];
    if (stats.dropped[i] == 1) {
      verdict = knock::DropReasonName(static_cast<DropReason>(i));
    }
  }
  CHECK(total == 1);
  CHECK(ok == (stats.knocks == 1));
  if (ok && knock_out != nullptr) *knock_out = knock;
  return verdict;
}

Bytes Tcp4(uint8_t flags = knock::kTcpFlagSyn, uint16_t port = kKnockPort) {
  return knock::BuildTcpPacket(kSrc4, kDst4, kSourcePort, port, flags);
}

Bytes Tcp6(uint8_t flags = knock::kTcpFlagSyn, uint16_t port = kKnockPort) {
  return knock::BuildTcpPacket(kSrc6, kDst6, kSourcePort, port, flags);
}

Bytes Udp4(uint16_t port = kKnockPort) {
  return knock::BuildUdpPacket(kSrc4, kDst4, kSourcePort, port);
}

Bytes Udp6(uint16_t port = kKnockPort) {
  return knock::BuildUdpPacket(kSrc6, kDst6, kSourcePort, port);
}

void Put16(Bytes* bytes, size_t offset, uint16_t value) {
  (*bytes)[offset] = static_cast<uint8_t>(value >> 8);
  (*bytes)[offset + 1] = static_cast<uint8_t>(value);
}

// Inserts `words` 4-byte words of NOP options into an IPv4 header.
Bytes WithV4Options(Bytes packet, int words) {
  packet.insert(packet.begin() + 20, 4 * words, 0x01);
  packet[0] = static_cast<uint8_t>(0x40 | (5 + words));
  Put16(&packet, 2, static_cast<uint16_t>(packet.size()));
  return packet;
}

/// One IPv6 extension header to splice in: its protocol number and size.
struct Extension {
  uint8_t type;
  size_t bytes;
};

// Splices extension headers between the IPv6 header and the transport.
Bytes WithV6Extensions(Bytes packet, const std::vector<Extension>& chain) {
  uint8_t next = packet[6];
  Bytes headers;
  for (size_t i = chain.size(); i-- > 0;) {
    Bytes header(chain[i].bytes, 0);
    header[0] = next;
    if (chain[i].type == 51) {
      header[1] = static_cast<uint8_t>(chain[i].bytes / 4 - 2);
    } else if (chain[i].type != 44) {
      header[1] = static_cast<uint8_t>(chain[i].bytes / 8 - 1);
    }
    headers.insert(headers.begin(), header.begin(), header.end());
    next = chain[i].type;
  }
  packet[6] = next;
  packet.insert(packet.begin() + 40, headers.begin(), headers.end());
  Put16(&packet, 4, static_cast<uint16_t>(packet.size() - 40));
  return packet;
}

Bytes Ether(const Bytes& packet, int tags = 0) {
  return knock::WrapInLink(packet, DLT_EN10MB, tags);
}

const int kAllLinks[] = {DLT_EN10MB,   DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                         kLinktypeRaw, DLT_NULL,      DLT_LOOP};

}  // namespace

TEST_CASE("drop reasons have short snake_case names") {
  CHECK(std::string(knock::DropReasonName(DropReason::kTruncated)) ==
        "truncated");
  CHECK(std::string(knock::DropReasonName(DropReason::kBadHeader)) ==
        "bad_header");
  CHECK(std::string(knock::DropReasonName(DropReason::kUnsupportedLink)) ==
        "unsupported_link");
  CHECK(std::string(knock::DropReasonName(DropReason::kFragment)) ==
        "fragment");
  CHECK(std::string(knock::DropReasonName(DropReason::kNotKnock)) ==
        "not_knock");
  CHECK(std::string(knock::DropReasonName(DropReason::kOutOfRange)) ==
        "out_of_range");
  CHECK(std::string(knock::DropReasonName(DropReason::kOutgoing)) ==
        "outgoing");
}

TEST_CASE("a cooked frame the host sent itself is no knock") {
  // The packet type of Linux cooked headers: 0 to us, 4 sent by us.
  Bytes v1 = knock::WrapInLink(Tcp4(), DLT_LINUX_SLL);
  Bytes v2 = knock::WrapInLink(Tcp4(), DLT_LINUX_SLL2);
  // Control: the same frames as received are knocks.
  CHECK(Verdict(v1, DLT_LINUX_SLL) == "knock");
  CHECK(Verdict(v2, DLT_LINUX_SLL2) == "knock");
  v1[1] = 4;
  v2[10] = 4;
  CHECK(Verdict(v1, DLT_LINUX_SLL) == "outgoing");
  CHECK(Verdict(v2, DLT_LINUX_SLL2) == "outgoing");
  // Multicast and broadcast (2, 1) still count: a knock can arrive so.
  v1[1] = 2;
  CHECK(Verdict(v1, DLT_LINUX_SLL) == "knock");
}

TEST_CASE("a TCP SYN is a knock over every link type and VLAN depth") {
  for (int link : kAllLinks) {
    const bool tagged =
        link == DLT_EN10MB || link == DLT_LINUX_SLL || link == DLT_LINUX_SLL2;
    for (int tags = 0; tags <= (tagged ? 2 : 0); ++tags) {
      for (bool v6 : {false, true}) {
        INFO("link " << link << " tags " << tags << " v6 " << v6);
        knock::Knock knock;
        const Bytes frame = knock::WrapInLink(v6 ? Tcp6() : Tcp4(), link, tags);
        REQUIRE(Verdict(frame, link, KnockProtocol::kTcp, &knock) == "knock");
        CHECK(knock.source == (v6 ? kSrc6 : kSrc4));
        CHECK(knock.port == kKnockPort);
        CHECK(knock.transport == knock::Transport::kTcp);
        CHECK(knock.time_us == kTimeUs);
      }
    }
  }
  CHECK(Verdict(Tcp4(), DLT_IPV4) == "knock");
  CHECK(Verdict(Tcp6(), DLT_IPV6) == "knock");
}

TEST_CASE("the frame builders make knocks") {
  CHECK(
      Verdict(knock::BuildTcpSynFrame(kSrc4, kDst4, 1, kKnockPort, DLT_EN10MB),
              DLT_EN10MB) == "knock");
  CHECK(Verdict(knock::BuildTcpSynFrame(kSrc6, kDst6, 1, kKnockPort, DLT_RAW),
                DLT_RAW) == "knock");
  CHECK(Verdict(knock::BuildUdpFrame(kSrc4, kDst4, 1, kKnockPort, DLT_RAW),
                DLT_RAW, KnockProtocol::kUdp) == "knock");
  CHECK(Verdict(knock::BuildUdpFrame(kSrc6, kDst6, 1, kKnockPort, DLT_EN10MB),
                DLT_EN10MB, KnockProtocol::kUdp) == "knock");
}

TEST_CASE("the protocol setting picks TCP, UDP or both") {
  knock::Knock knock;
  CHECK(Verdict(Ether(Udp4()), DLT_EN10MB, KnockProtocol::kTcp) == "not_knock");
  CHECK(Verdict(Ether(Udp6()), DLT_EN10MB, KnockProtocol::kTcp) == "not_knock");
  CHECK(Verdict(Ether(Tcp4()), DLT_EN10MB, KnockProtocol::kUdp) == "not_knock");
  REQUIRE(Verdict(Ether(Udp6()), DLT_EN10MB, KnockProtocol::kUdp, &knock) ==
          "knock");
  CHECK(knock.transport == knock::Transport::kUdp);
  CHECK(knock.source == kSrc6);
  CHECK(knock.port == kKnockPort);
  CHECK(Verdict(Ether(Udp4()), DLT_EN10MB, KnockProtocol::kBoth) == "knock");
  CHECK(Verdict(Ether(Tcp4()), DLT_EN10MB, KnockProtocol::kBoth) == "knock");
  Bytes icmp = Tcp4();
  icmp[9] = 1;
  CHECK(Verdict(icmp, DLT_RAW, KnockProtocol::kBoth) == "not_knock");
}

TEST_CASE("only SYN without ACK, RST or FIN is a knock") {
  using knock::kTcpFlagAck;
  using knock::kTcpFlagFin;
  using knock::kTcpFlagRst;
  using knock::kTcpFlagSyn;
  const uint8_t kEceCwr = 0xc0, kPsh = 0x08, kUrg = 0x20;
  /// One row of the table: an input and the verdict it must get.
  struct Case {
    uint8_t flags;
    const char* verdict;
  };
  const Case cases[] = {
      {kTcpFlagSyn, "knock"},
      {kTcpFlagSyn | kEceCwr, "knock"},  // ECN setup
      {kTcpFlagSyn | kPsh | kUrg, "knock"},
      {kTcpFlagSyn | kTcpFlagAck, "not_knock"},
      {kTcpFlagRst, "not_knock"},
      {kTcpFlagRst | kTcpFlagAck, "not_knock"},
      {kTcpFlagSyn | kTcpFlagRst, "not_knock"},
      {kTcpFlagSyn | kTcpFlagFin, "not_knock"},
      {kTcpFlagAck, "not_knock"},
      {kTcpFlagFin | kTcpFlagAck, "not_knock"},
      {0, "not_knock"},
      {0xff, "not_knock"},
  };
  for (const Case& c : cases) {
    INFO("flags " << int{c.flags});
    CHECK(Verdict(Ether(Tcp4(c.flags)), DLT_EN10MB) == c.verdict);
    CHECK(Verdict(Ether(Tcp6(c.flags)), DLT_EN10MB) == c.verdict);
  }
}

TEST_CASE("the destination port must be in the knock range") {
  for (bool v6 : {false, true}) {
    auto tcp = [&](uint16_t port) {
      return Ether(v6 ? Tcp6(knock::kTcpFlagSyn, port)
                      : Tcp4(knock::kTcpFlagSyn, port));
    };
    CHECK(Verdict(tcp(16384), DLT_EN10MB) == "knock");
    CHECK(Verdict(tcp(32767), DLT_EN10MB) == "knock");
    CHECK(Verdict(tcp(16383), DLT_EN10MB) == "out_of_range");
    CHECK(Verdict(tcp(32768), DLT_EN10MB) == "out_of_range");
    CHECK(Verdict(tcp(22), DLT_EN10MB) == "out_of_range");
    CHECK(Verdict(tcp(0), DLT_EN10MB) == "out_of_range");
    CHECK(Verdict(Ether(v6 ? Udp6(80) : Udp4(80)), DLT_EN10MB,
                  KnockProtocol::kUdp) == "out_of_range");
  }
}

TEST_CASE("every truncation of a knock is counted as truncated") {
  const Bytes packets[] = {Tcp4(),
                           Tcp6(),
                           Udp4(),
                           Udp6(),
                           WithV4Options(Tcp4(), 10),
                           WithV6Extensions(Tcp6(), {{0, 16}, {51, 24}})};
  for (const Bytes& packet : packets) {
    for (int link : kAllLinks) {
      for (int tags = 0; tags <= 2; ++tags) {
        const Bytes frame = knock::WrapInLink(packet, link, tags);
        REQUIRE(Verdict(frame, link, KnockProtocol::kBoth) == "knock");
        for (size_t n = 0; n < frame.size(); ++n) {
          INFO("link " << link << " tags " << tags << " prefix " << n);
          const Bytes prefix(frame.begin(), frame.begin() + n);
          CHECK(Verdict(prefix, link, KnockProtocol::kBoth) == "truncated");
        }
      }
    }
  }
}

TEST_CASE("IPv4 header lengths are checked") {
  CHECK(Verdict(WithV4Options(Tcp4(), 1), DLT_RAW) == "knock");
  CHECK(Verdict(WithV4Options(Tcp4(), 10), DLT_RAW) == "knock");
  for (uint8_t ihl = 0; ihl < 5; ++ihl) {
    Bytes packet = Tcp4();
    packet[0] = static_cast<uint8_t>(0x40 | ihl);
    CHECK(Verdict(packet, DLT_RAW) == "bad_header");
  }
  Bytes long_ihl = Tcp4();
  long_ihl.resize(30);
  long_ihl[0] = 0x4f;  // 60 bytes of header in a 30-byte capture
  CHECK(Verdict(long_ihl, DLT_RAW) == "truncated");

  Bytes short_total = Tcp4();
  Put16(&short_total, 2, 19);
  CHECK(Verdict(short_total, DLT_RAW) == "bad_header");
  Put16(&short_total, 2, 30);  // cuts the TCP header
  CHECK(Verdict(short_total, DLT_RAW) == "truncated");

  // A snapshot shorter than the IP length still holds the TCP header.
  Bytes long_total = Tcp4();
  Put16(&long_total, 2, 1500);
  CHECK(Verdict(long_total, DLT_RAW) == "knock");
  // Ethernet pads short frames; the padding is not read as TCP.
  Bytes padded = Ether(Tcp4());
  padded.resize(80, 0xee);
  CHECK(Verdict(padded, DLT_EN10MB) == "knock");

  Bytes v5 = Tcp4();
  v5[0] = 0x55;
  CHECK(Verdict(v5, DLT_RAW) == "bad_header");
}

TEST_CASE("IPv4 fragments are dropped, first or later") {
  /// One row of the table: an input and the verdict it must get.
  struct Case {
    uint16_t field;
    const char* verdict;
  };
  const Case cases[] = {
      {0x4000, "knock"},     // don't fragment
      {0x0000, "knock"},     // may fragment, is not a fragment
      {0x2000, "fragment"},  // first fragment: more fragments
      {0x000d, "fragment"},  // last fragment: offset 13
      {0x2100, "fragment"},  // middle fragment
      {0x1fff, "fragment"},
  };
  for (const Case& c : cases) {
    INFO("flags and offset " << c.field);
    Bytes packet = Tcp4();
    Put16(&packet, 6, c.field);
    CHECK(Verdict(Ether(packet), DLT_EN10MB) == c.verdict);
  }
}

TEST_CASE("TCP and UDP headers are checked") {
  for (uint8_t offset = 0; offset < 5; ++offset) {
    Bytes packet = Tcp4();
    packet[20 + 12] = static_cast<uint8_t>(offset << 4);
    CHECK(Verdict(packet, DLT_RAW) == "bad_header");
  }
  Bytes long_offset = Tcp4();
  long_offset[20 + 12] = 6 << 4;  // 24 bytes of TCP header, 20 captured
  CHECK(Verdict(long_offset, DLT_RAW) == "truncated");
  long_offset.resize(long_offset.size() + 4, 0x01);
  Put16(&long_offset, 2, static_cast<uint16_t>(long_offset.size()));
  CHECK(Verdict(long_offset, DLT_RAW) == "knock");
}

TEST_CASE("IPv6 extension headers are walked") {
  /// One row of the table: an input and the verdict it must get.
  struct Case {
    const char* name;
    std::vector<Extension> chain;
    const char* verdict;
  };
  const std::vector<Extension> eight(8, Extension{60, 8});
  std::vector<Extension> nine = eight;
  nine.push_back({60, 8});
  const Case cases[] = {
      {"hop-by-hop", {{0, 8}}, "knock"},
      {"hop-by-hop, destination options", {{0, 8}, {60, 24}}, "knock"},
      {"routing", {{43, 24}}, "knock"},
      {"authentication", {{51, 12}}, "knock"},
      {"authentication, long", {{0, 8}, {51, 28}}, "knock"},
      {"eight headers", eight, "knock"},
      {"nine headers", nine, "bad_header"},
      {"fragment", {{44, 8}}, "fragment"},
      {"fragment after options", {{0, 8}, {44, 8}}, "fragment"},
      {"esp", {{50, 16}}, "not_knock"},
      {"no next header", {{59, 8}}, "not_knock"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(Verdict(Ether(WithV6Extensions(Tcp6(), c.chain)), DLT_EN10MB) ==
          c.verdict);
    CHECK(Verdict(WithV6Extensions(Udp6(), c.chain), DLT_RAW,
                  KnockProtocol::kUdp) == c.verdict);
  }

  // A header length pointing past the payload length.
  Bytes overlong = WithV6Extensions(Tcp6(), {{60, 8}});
  overlong[41] = 200;
  CHECK(Verdict(overlong, DLT_RAW) == "truncated");
  // The payload length bounds the walk even if more bytes were captured.
  Bytes short_payload = WithV6Extensions(Tcp6(), {{60, 8}});
  Put16(&short_payload, 4, 8);
  CHECK(Verdict(short_payload, DLT_RAW) == "truncated");
  Put16(&short_payload, 4, 1);
  CHECK(Verdict(short_payload, DLT_RAW) == "truncated");
}

TEST_CASE("knocks from non-unicast sources are bad headers") {
  const char* bad[] = {"0.0.0.0",
                       "0.1.2.3",
                       "127.0.0.1",
                       "224.0.0.1",
                       "239.255.255.250",
                       "240.0.0.1",
                       "255.255.255.255",
                       "::",
                       "::1",
                       "ff02::1",
                       "ff05::1:3"};
  for (const char* text : bad) {
    INFO(text);
    const IpAddress src = Ip(text);
    const IpAddress dst = src.is_v4() ? kDst4 : kDst6;
    CHECK(Verdict(knock::BuildTcpSynFrame(src, dst, 1, kKnockPort, DLT_RAW),
                  DLT_RAW) == "bad_header");
  }
  // IPv4-mapped and IPv4-compatible sources are plain IPv6 to us.
  for (const char* text : {"::ffff:198.18.0.1", "::2", "fe80::1"}) {
    INFO(text);
    knock::Knock knock;
    CHECK(Verdict(
              knock::BuildTcpSynFrame(Ip(text), kDst6, 1, kKnockPort, DLT_RAW),
              DLT_RAW, KnockProtocol::kTcp, &knock) == "knock");
    CHECK(knock.source == Ip(text));
    CHECK(!knock.source.is_v4());
  }
}

TEST_CASE("link types and ethertypes we do not read") {
  CHECK(Verdict(Ether(Tcp4()), DLT_PPP) == "unsupported_link");
  CHECK(Verdict(Ether(Tcp4()), 12345) == "unsupported_link");
  CHECK(Verdict(Ether(Tcp4()), -1) == "unsupported_link");
  CHECK(Verdict({}, DLT_IEEE802_11) == "unsupported_link");

  Bytes arp = Ether(Tcp4());
  Put16(&arp, 12, 0x0806);
  CHECK(Verdict(arp, DLT_EN10MB) == "unsupported_link");
  // Three tags: one more than we walk.
  Bytes three = Ether(Tcp4(), 2);
  three.insert(three.begin() + 14, {0x00, 0x66, 0x81, 0x00});
  Put16(&three, 12, 0x88a8);
  CHECK(Verdict(three, DLT_EN10MB) == "unsupported_link");

  // The ethertype and the IP version must agree.
  Bytes mismatch = Ether(Tcp6());
  Put16(&mismatch, 12, 0x0800);
  CHECK(Verdict(mismatch, DLT_EN10MB) == "bad_header");
  Bytes raw = Tcp4();
  raw[0] = 0x05;
  CHECK(Verdict(raw, DLT_RAW) == "bad_header");
}

TEST_CASE("loopback families in either byte order") {
  const Bytes packet4 = Tcp4(), packet6 = Tcp6();
  for (uint32_t family : {2u, 10u, 24u, 28u, 30u, 7u, 0u}) {
    const bool v6 = family != 2;
    const bool known = family != 7 && family != 0;
    for (bool big_endian : {false, true}) {
      INFO("family " << family << " big endian " << big_endian);
      Bytes frame(4);
      for (int i = 0; i < 4; ++i) {
        const int shift = big_endian ? 24 - 8 * i : 8 * i;
        frame[i] = static_cast<uint8_t>(family >> shift);
      }
      const Bytes& packet = v6 ? packet6 : packet4;
      frame.insert(frame.end(), packet.begin(), packet.end());
      for (int link : {DLT_NULL, DLT_LOOP}) {
        CHECK(Verdict(frame, link) == (known ? "knock" : "unsupported_link"));
      }
    }
  }
  Bytes mismatch = knock::WrapInLink(Tcp4(), DLT_LOOP);
  mismatch[3] = 24;
  CHECK(Verdict(mismatch, DLT_LOOP) == "bad_header");
}

TEST_CASE("counters add up per reason") {
  knock::PacketDecoder decoder(Settings());
  const Bytes frames[] = {Ether(Tcp4()), Ether(Tcp6()),
                          Ether(Tcp4(knock::kTcpFlagAck)),
                          Ether(Tcp4(knock::kTcpFlagSyn, 80)), Bytes(3)};
  knock::Knock knock;
  for (int round = 0; round < 3; ++round) {
    for (const Bytes& frame : frames) {
      knock::Frame f{DLT_EN10MB, frame.data(),
                     static_cast<uint32_t>(frame.size()), kTimeUs};
      decoder.Decode(f, &knock);
    }
  }
  knock::Frame empty{DLT_EN10MB, nullptr, 100, 0};  // no data, any length
  CHECK(!decoder.Decode(empty, &knock));
  const knock::DecodeStats& stats = decoder.stats();
  CHECK(stats.knocks == 6);
  CHECK(stats.dropped[static_cast<int>(DropReason::kNotKnock)] == 3);
  CHECK(stats.dropped[static_cast<int>(DropReason::kOutOfRange)] == 3);
  CHECK(stats.dropped[static_cast<int>(DropReason::kTruncated)] == 4);
  CHECK(stats.dropped[static_cast<int>(DropReason::kBadHeader)] == 0);
}

TEST_CASE("a failed decode leaves the knock untouched") {
  knock::PacketDecoder decoder(Settings());
  knock::Knock knock;
  knock.port = 7;
  knock.time_us = 9;
  const Bytes frame = Ether(Tcp4(knock::kTcpFlagSyn, 80));
  knock::Frame f{DLT_EN10MB, frame.data(), static_cast<uint32_t>(frame.size()),
                 kTimeUs};
  CHECK(!decoder.Decode(f, &knock));
  CHECK(knock.port == 7);
  CHECK(knock.time_us == 9);
  CHECK(knock.source == IpAddress{});
}

TEST_CASE("random bytes never crash the decoder") {
  std::mt19937 random(20240607);
  knock::PacketDecoder decoder(Settings(KnockProtocol::kBoth));
  const int links[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                       DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP};
  constexpr int kFrames = 200000;
  knock::Knock knock;
  for (int i = 0; i < kFrames; ++i) {
    Bytes frame(random() % 201);
    for (uint8_t& byte : frame) byte = static_cast<uint8_t>(random());
    const int link = links[random() % 8];
    // Steer a fraction towards deeper parsing with plausible first bytes.
    if (frame.size() > 24 && random() % 2 == 0) {
      const Bytes good =
          knock::WrapInLink(random() % 2 ? Tcp4() : Tcp6(), link, random() % 3);
      std::copy(good.begin(),
                good.begin() + std::min(good.size(), frame.size() / 2),
                frame.begin());
    }
    knock::Frame f{link, frame.empty() ? nullptr : frame.data(),
                   static_cast<uint32_t>(frame.size()), i};
    decoder.Decode(f, &knock);
  }
  const knock::DecodeStats& stats = decoder.stats();
  uint64_t total = stats.knocks;
  for (uint64_t dropped : stats.dropped) total += dropped;
  CHECK(total == kFrames);
}

TEST_CASE("mutated knocks never crash the decoder") {
  std::mt19937 random(7);
  knock::PacketDecoder decoder(Settings(KnockProtocol::kBoth));
  const Bytes seeds[] = {
      Ether(Tcp4(), 1), Ether(Tcp6(), 2),
      knock::WrapInLink(WithV6Extensions(Udp6(), {{0, 8}, {51, 12}}),
                        DLT_LINUX_SLL2),
      knock::WrapInLink(WithV4Options(Udp4(), 3), DLT_LINUX_SLL)};
  const int links[] = {DLT_EN10MB, DLT_EN10MB, DLT_LINUX_SLL2, DLT_LINUX_SLL};
  knock::Knock knock;
  for (int i = 0; i < 100000; ++i) {
    const int which = static_cast<int>(random() % 4);
    Bytes frame = seeds[which];
    for (int flips = 1 + random() % 4; flips > 0; --flips) {
      frame[random() % frame.size()] = static_cast<uint8_t>(random());
    }
    frame.resize(random() % (frame.size() + 1));
    knock::Frame f{links[which], frame.data(),
                   static_cast<uint32_t>(frame.size()), i};
    if (decoder.Decode(f, &knock)) {
      CHECK(knock.port >= 16384);
      CHECK(knock.port <= 32767);
    }
  }
  CHECK(decoder.stats().knocks > 0);
}

TEST_CASE("decoding speed", "[.][bench]") {
  knock::PacketDecoder decoder(Settings());
  const Bytes frames[] = {Ether(Tcp4()), Ether(Tcp6(), 1),
                          Ether(Tcp4(knock::kTcpFlagAck))};
  constexpr int kRounds = 10000000;
  knock::Knock knock;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    const Bytes& frame = frames[i % 3];
    knock::Frame f{DLT_EN10MB, frame.data(),
                   static_cast<uint32_t>(frame.size()), i};
    decoder.Decode(f, &knock);
  }
  const double ns = std::chrono::duration<double, std::nano>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  std::printf("%.1f ns per frame\n", ns / kRounds);
  CHECK(decoder.stats().knocks > 0);
}
