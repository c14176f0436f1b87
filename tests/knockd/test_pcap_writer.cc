// The pcap writer and frame builders that tests and benchmarks rely on:
// byte-exact files libpcap reads back, and checksums a real stack accepts.
#include <pcap/pcap.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "knockd/sniffer/pcap_writer.h"
#include "temp_dir.h"

namespace {

using knock::IpAddress;
using Bytes = std::vector<uint8_t>;

IpAddress Ip(const char* text) {
  IpAddress address;
  std::string err;
  REQUIRE(IpAddress::Parse(text, &address, &err));
  return address;
}

Bytes ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

uint32_t Native32(const Bytes& bytes, size_t offset) {
  uint32_t value;
  std::memcpy(&value, bytes.data() + offset, 4);
  return value;
}

uint32_t Sum(const uint8_t* data, size_t length, uint32_t sum = 0) {
  for (size_t i = 0; i < length; ++i) {
    sum += i % 2 == 0 ? data[i] << 8 : data[i];
  }
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The ones' complement sum over pseudo-header and segment, checksum field
// included: 0xffff when the checksum is right.
uint16_t TransportSum(const Bytes& packet) {
  const bool v4 = (packet[0] >> 4) == 4;
  const size_t header = v4 ? (packet[0] & 15) * 4 : 40;
  const size_t address_bytes = v4 ? 4 : 16;
  const uint8_t* source = packet.data() + (v4 ? 12 : 8);
  uint32_t sum = Sum(source, 2 * address_bytes);
  sum += v4 ? packet[9] : packet[6];
  sum += static_cast<uint32_t>(packet.size() - header);
  return Fold(Sum(packet.data() + header, packet.size() - header, sum));
}

}  // namespace

TEST_CASE("checksums of built packets verify") {
  const IpAddress s4 = Ip("198.18.0.1"), d4 = Ip("198.19.255.254");
  const IpAddress s6 = Ip("2001:db8::1"), d6 = Ip("2001:db8:ffff::2");
  for (uint16_t port : {uint16_t{1}, uint16_t{20000}, uint16_t{65535}}) {
    const Bytes tcp4 = knock::BuildTcpPacket(s4, d4, 40000, port, 0x02);
    CHECK(Fold(Sum(tcp4.data(), 20)) == 0xffff);
    CHECK(TransportSum(tcp4) == 0xffff);
    CHECK(TransportSum(knock::BuildTcpPacket(s6, d6, 40000, port, 0x12)) ==
          0xffff);
    const Bytes udp4 = knock::BuildUdpPacket(s4, d4, 40000, port);
    CHECK(Fold(Sum(udp4.data(), 20)) == 0xffff);
    CHECK(TransportSum(udp4) == 0xffff);
    CHECK(TransportSum(knock::BuildUdpPacket(s6, d6, 40000, port)) == 0xffff);
  }
}

TEST_CASE("built packets have the expected layout") {
  const Bytes tcp = knock::BuildTcpPacket(Ip("198.18.0.1"), Ip("198.19.0.1"),
                                          0x1234, 0x4e20, 0x02);
  REQUIRE(tcp.size() == 40);
  CHECK(tcp[0] == 0x45);
  CHECK(tcp[2] == 0);
  CHECK(tcp[3] == 40);
  CHECK(tcp[9] == 6);
  CHECK(tcp[20] == 0x12);
  CHECK(tcp[21] == 0x34);
  CHECK(tcp[22] == 0x4e);
  CHECK(tcp[23] == 0x20);
  CHECK(tcp[33] == 0x02);
  const Bytes udp =
      knock::BuildUdpPacket(Ip("2001:db8::1"), Ip("2001:db8::2"), 1, 2);
  REQUIRE(udp.size() == 48);
  CHECK(udp[0] == 0x60);
  CHECK(udp[5] == 8);
  CHECK(udp[6] == 17);
  CHECK(udp[40 + 5] == 8);
}

TEST_CASE("link headers and VLAN tags") {
  const Bytes v4 =
      knock::BuildUdpPacket(Ip("198.18.0.1"), Ip("198.19.0.1"), 1, 2);
  const Bytes v6 =
      knock::BuildUdpPacket(Ip("2001:db8::1"), Ip("2001:db8::2"), 1, 2);
  const Bytes two = knock::WrapInLink(v6, DLT_EN10MB, 2);
  REQUIRE(two.size() == 22 + v6.size());
  CHECK(two[12] == 0x88);
  CHECK(two[13] == 0xa8);
  CHECK(two[16] == 0x81);
  CHECK(two[17] == 0x00);
  CHECK(two[20] == 0x86);
  CHECK(two[21] == 0xdd);
  CHECK(Bytes(two.begin() + 22, two.end()) == v6);

  const Bytes sll = knock::WrapInLink(v4, DLT_LINUX_SLL, 1);
  REQUIRE(sll.size() == 20 + v4.size());
  CHECK(sll[14] == 0x81);
  CHECK(sll[18] == 0x08);
  const Bytes sll2 = knock::WrapInLink(v4, DLT_LINUX_SLL2);
  REQUIRE(sll2.size() == 20 + v4.size());
  CHECK(sll2[0] == 0x08);
  CHECK(sll2[1] == 0x00);
  CHECK(knock::WrapInLink(v4, DLT_RAW) == v4);
  const Bytes loop = knock::WrapInLink(v6, DLT_LOOP);
  CHECK(Bytes(loop.begin(), loop.begin() + 4) == Bytes{0, 0, 0, 24});
}

TEST_CASE("pcap files are byte-exact and libpcap reads them back") {
  TempDir dir("knock-pcap-writer");
  std::string err;
  const Bytes frame = knock::BuildTcpSynFrame(
      Ip("198.18.0.1"), Ip("198.19.0.1"), 1, 20000, DLT_RAW);
  for (int link : {DLT_RAW, DLT_EN10MB}) {
    INFO("link " << link);
    const std::string path = dir.File("out.pcap");
    knock::PcapWriter writer;
    REQUIRE(writer.Open(path, link, &err));
    REQUIRE(writer.Write(frame, 1700000000654321, &err));
    REQUIRE(writer.Write(frame.data(), 10, -1, &err));
    REQUIRE(writer.Close(&err));

    const Bytes bytes = ReadAll(path);
    REQUIRE(bytes.size() == 24 + 16 + frame.size() + 16 + 10);
    CHECK(Native32(bytes, 0) == 0xa1b2c3d4);
    CHECK(Native32(bytes, 20) == (link == DLT_RAW ? 101u : 1u));
    CHECK(Native32(bytes, 24) == 1700000000);
    CHECK(Native32(bytes, 28) == 654321);
    CHECK(Native32(bytes, 32) == frame.size());

    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t* pcap = pcap_open_offline(path.c_str(), errbuf);
    REQUIRE(pcap != nullptr);
    CHECK(pcap_datalink(pcap) == link);
    pcap_pkthdr* header;
    const u_char* data;
    REQUIRE(pcap_next_ex(pcap, &header, &data) == 1);
    CHECK(header->ts.tv_sec == 1700000000);
    CHECK(header->ts.tv_usec == 654321);
    CHECK(Bytes(data, data + header->caplen) == frame);
    REQUIRE(pcap_next_ex(pcap, &header, &data) == 1);
    CHECK(header->caplen == 10);
    CHECK(header->ts.tv_sec == -1);  // one microsecond before the epoch
    CHECK(header->ts.tv_usec == 999999);
    CHECK(pcap_next_ex(pcap, &header, &data) == PCAP_ERROR_BREAK);
    pcap_close(pcap);
  }
}

TEST_CASE("pcap writer errors quote the path") {
  std::string err;
  knock::PcapWriter writer;
  CHECK(!writer.Write(Bytes(1), 0, &err));
  CHECK(err == "pcap writer is not open");
  CHECK(!writer.Open("/nonexistent/dir/out.pcap", DLT_RAW, &err));
  CHECK(err ==
        "cannot create \"/nonexistent/dir/out.pcap\": No such file or "
        "directory");
  CHECK(writer.Close(&err));
}

TEST_CASE("writing a million frames", "[.][bench]") {
  TempDir dir("knock-pcap-writer");
  std::string err;
  knock::PcapWriter writer;
  REQUIRE(writer.Open(dir.File("big.pcap"), DLT_EN10MB, &err));
  const IpAddress d4 = Ip("198.19.0.1");
  IpAddress src = Ip("198.18.0.0");
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000000; ++i) {
    src.bytes[2] = static_cast<uint8_t>(i >> 8);
    src.bytes[3] = static_cast<uint8_t>(i);
    const Bytes frame = knock::BuildTcpSynFrame(
        src, d4, 40000, static_cast<uint16_t>(16384 + i % 16384), DLT_EN10MB);
    REQUIRE(writer.Write(frame, i, &err));
  }
  REQUIRE(writer.Close(&err));
  const double ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  std::printf("%.0f ms per million frames\n", ms);
}
