// The pcap side of capture: the BPF prefilter for every link type, capture
// files (pcap, nanosecond pcap, pcapng) fed through the decoder, and the
// errors users see.
#include <linux/filter.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "knockd/sniffer/packet_decoder.h"
#include "knockd/sniffer/packet_source.h"
#include "knockd/sniffer/pcap_writer.h"
#include "temp_dir.h"

namespace {

using knock::IpAddress;
using knock::KnockProtocol;
using Bytes = std::vector<uint8_t>;

constexpr uint16_t kKnockPort = 20000;
constexpr int64_t kTimeUs = 1700000000000000;

IpAddress Ip(const char* text) {
  IpAddress address;
  std::string err;
  REQUIRE(IpAddress::Parse(text, &address, &err));
  return address;
}

knock::KnockSettings Settings(KnockProtocol protocol = KnockProtocol::kTcp) {
  knock::KnockSettings settings;
  settings.ports = {16384, 32767};
  settings.protocol = protocol;
  return settings;
}

// An IPv6 packet with one 8-byte hop-by-hop header before its transport.
Bytes WithHopByHop(Bytes packet) {
  Bytes header(8, 0);
  header[0] = packet[6];
  packet[6] = 0;
  packet.insert(packet.begin() + 40, header.begin(), header.end());
  const size_t payload = packet.size() - 40;
  packet[4] = static_cast<uint8_t>(payload >> 8);
  packet[5] = static_cast<uint8_t>(payload);
  return packet;
}

/// The prefilter compiled for one link type, to run frames through.
class Filter {
 public:
  Filter(const knock::KnockSettings& settings, int link_type)
      : pcap_(pcap_open_dead(link_type, 256)) {
    const std::string text = knock::KnockFilterExpression(settings, link_type);
    INFO(text);
    REQUIRE(pcap_compile(pcap_, &program_, text.c_str(), 1,
                         PCAP_NETMASK_UNKNOWN) == 0);
  }
  ~Filter() {
    pcap_freecode(&program_);
    pcap_close(pcap_);
  }
  bool Passes(const Bytes& frame) const {
    pcap_pkthdr header = {};
    header.caplen = header.len = static_cast<uint32_t>(frame.size());
    return pcap_offline_filter(&program_, &header, frame.data()) != 0;
  }

 private:
  pcap_t* pcap_;
  bpf_program program_ = {};
};

std::vector<knock::Knock> DecodeAll(knock::PacketSource* source,
                                    const knock::KnockSettings& settings,
                                    int* dispatches, int* link_type) {
  knock::PacketDecoder decoder(settings);
  std::vector<knock::Knock> knocks;
  std::string err = "not cleared";
  *dispatches = 0;
  while (source->Dispatch(
      [&](const knock::Frame& frame) {
        *link_type = frame.link_type;
        knock::Knock knock;
        if (decoder.Decode(frame, &knock)) knocks.push_back(knock);
      },
      &err)) {
    ++*dispatches;
    REQUIRE(*dispatches < 1000);
  }
  CHECK(err == "");
  return knocks;
}

void WriteBytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void Append32(Bytes* bytes, uint32_t value) {  // native order
  const size_t at = bytes->size();
  bytes->resize(at + 4);
  std::memcpy(bytes->data() + at, &value, 4);
}

void Append16(Bytes* bytes, uint16_t value) {
  const size_t at = bytes->size();
  bytes->resize(at + 2);
  std::memcpy(bytes->data() + at, &value, 2);
}

}  // namespace

TEST_CASE("the knock filter compiles for every link type we decode") {
  const int links[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                       DLT_NULL,   DLT_LOOP,      DLT_IPV4,       DLT_IPV6};
  for (KnockProtocol protocol :
       {KnockProtocol::kTcp, KnockProtocol::kUdp, KnockProtocol::kBoth}) {
    for (int link : links) {
      for (bool with_link : {false, true}) {
        const std::string text =
            with_link ? knock::KnockFilterExpression(Settings(protocol), link)
                      : knock::KnockFilterExpression(Settings(protocol));
        INFO("link " << link << ": " << text);
        pcap_t* pcap = pcap_open_dead(link, 256);
        bpf_program program;
        CHECK(pcap_compile(pcap, &program, text.c_str(), 1,
                           PCAP_NETMASK_UNKNOWN) == 0);
        pcap_freecode(&program);
        pcap_close(pcap);
      }
    }
  }
}

TEST_CASE("the kernel accepts the compiled knock filter") {
  // A filter the kernel refuses makes libpcap copy every packet to user
  // space and filter there; attaching to any socket runs the same check.
  const int links[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW};
  for (KnockProtocol protocol :
       {KnockProtocol::kTcp, KnockProtocol::kUdp, KnockProtocol::kBoth}) {
    for (int link : links) {
      INFO("link " << link << " protocol " << static_cast<int>(protocol));
      pcap_t* pcap = pcap_open_dead(link, 256);
      bpf_program program;
      const std::string text =
          knock::KnockFilterExpression(Settings(protocol), link);
      REQUIRE(pcap_compile(pcap, &program, text.c_str(), 1,
                           PCAP_NETMASK_UNKNOWN) == 0);
      sock_fprog kernel_program{
          static_cast<unsigned short>(program.bf_len),
          reinterpret_cast<sock_filter*>(program.bf_insns)};
      const int fd = socket(AF_INET, SOCK_DGRAM, 0);
      REQUIRE(fd >= 0);
      CHECK(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &kernel_program,
                       sizeof kernel_program) == 0);
      close(fd);
      pcap_freecode(&program);
      pcap_close(pcap);
    }
  }
}

TEST_CASE("the knock filter text") {
  knock::KnockSettings settings = Settings(KnockProtocol::kUdp);
  settings.ports = {1000, 1999};
  CHECK(knock::KnockFilterExpression(settings) ==
        "(udp dst portrange 1000-1999) or "
        "(ip6 and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 51 or ip6[6] == "
        "60) and (ip6[40] == 17 or ip6[40] == 0 or ip6[40] == 43 or ip6[40] "
        "== 51 or ip6[40] == 60))");
  CHECK(knock::KnockFilterExpression(settings, DLT_RAW) ==
        knock::KnockFilterExpression(settings));
  CHECK(knock::KnockFilterExpression(settings, DLT_EN10MB)
            .find("or (vlan and (") != std::string::npos);
}

TEST_CASE("the knock filter passes knocks and rejects the obvious rest") {
  const IpAddress s4 = Ip("198.18.0.1"), d4 = Ip("198.19.0.1");
  const IpAddress s6 = Ip("2001:db8::1"), d6 = Ip("2001:db8::2");
  using knock::BuildTcpPacket;
  using knock::BuildUdpPacket;
  const uint8_t syn = knock::kTcpFlagSyn;
  const uint8_t syn_ack = knock::kTcpFlagSyn | knock::kTcpFlagAck;
  for (int link : {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW}) {
    const Filter tcp(Settings(KnockProtocol::kTcp), link);
    const Filter udp(Settings(KnockProtocol::kUdp), link);
    const Filter both(Settings(KnockProtocol::kBoth), link);
    for (int tags = 0; tags <= (link == DLT_EN10MB ? 2 : 0); ++tags) {
      INFO("link " << link << " tags " << tags);
      auto frame = [&](const Bytes& packet) {
        return knock::WrapInLink(packet, link, tags);
      };
      const Bytes syn4 = frame(BuildTcpPacket(s4, d4, 1, kKnockPort, syn));
      const Bytes syn6 = frame(BuildTcpPacket(s6, d6, 1, kKnockPort, syn));
      const Bytes syn6_hop =
          frame(WithHopByHop(BuildTcpPacket(s6, d6, 1, kKnockPort, syn)));
      const Bytes udp4 = frame(BuildUdpPacket(s4, d4, 1, kKnockPort));
      const Bytes udp6 = frame(BuildUdpPacket(s6, d6, 1, kKnockPort));
      const Bytes udp6_hop =
          frame(WithHopByHop(BuildUdpPacket(s6, d6, 1, kKnockPort)));
      CHECK(tcp.Passes(syn4));
      CHECK(tcp.Passes(syn6));
      CHECK(tcp.Passes(syn6_hop));
      CHECK(!tcp.Passes(udp4));
      CHECK(!tcp.Passes(udp6));
      CHECK(!tcp.Passes(frame(BuildTcpPacket(s4, d4, 1, kKnockPort, syn_ack))));
      CHECK(!tcp.Passes(frame(BuildTcpPacket(s6, d6, 1, kKnockPort, syn_ack))));
      CHECK(!tcp.Passes(frame(BuildTcpPacket(s4, d4, 1, 22, syn))));
      CHECK(!tcp.Passes(frame(BuildTcpPacket(s6, d6, 1, 32768, syn))));
      // Multicast listener reports: hop-by-hop, then ICMPv6.
      Bytes mld = BuildUdpPacket(s6, d6, 1, kKnockPort);
      mld[6] = 58;
      CHECK(!both.Passes(frame(WithHopByHop(mld))));
      CHECK(udp.Passes(udp4));
      CHECK(udp.Passes(udp6));
      CHECK(udp.Passes(udp6_hop));
      CHECK(!udp.Passes(syn4));
      CHECK(!udp.Passes(syn6));
      CHECK(!udp.Passes(frame(BuildUdpPacket(s4, d4, 1, 53))));
      for (const Bytes* passes : {&syn4, &syn6, &syn6_hop, &udp4, &udp6}) {
        CHECK(both.Passes(*passes));
      }
    }
  }
}

TEST_CASE("a pcap file is read, filtered and decoded") {
  TempDir dir("knock-packet-source");
  const std::string path = dir.File("mixed.pcap");
  const IpAddress s4 = Ip("198.18.0.1"), d4 = Ip("198.19.0.1");
  const IpAddress s6 = Ip("2001:db8::1"), d6 = Ip("2001:db8::2");
  const uint8_t syn = knock::kTcpFlagSyn;
  std::string err;
  knock::PcapWriter writer;
  REQUIRE(writer.Open(path, DLT_EN10MB, &err));
  const Bytes frames[] = {
      knock::BuildTcpSynFrame(s4, d4, 1, 20000, DLT_EN10MB),
      knock::BuildTcpSynFrame(s4, d4, 1, 22, DLT_EN10MB),
      knock::WrapInLink(
          knock::BuildTcpPacket(s4, d4, 1, 20001, syn | knock::kTcpFlagAck),
          DLT_EN10MB),
      knock::BuildUdpFrame(s4, d4, 1, 20002, DLT_EN10MB),
      knock::BuildTcpSynFrame(s6, d6, 1, 20003, DLT_EN10MB),
      Bytes(7, 0xab),
      knock::WrapInLink(
          WithHopByHop(knock::BuildTcpPacket(s6, d6, 1, 20004, syn)),
          DLT_EN10MB),
      knock::WrapInLink(knock::BuildTcpPacket(s4, d4, 1, 20005, syn),
                        DLT_EN10MB, 1),
      knock::WrapInLink(knock::BuildTcpPacket(s6, d6, 1, 20006, syn),
                        DLT_EN10MB, 2),
  };
  for (size_t i = 0; i < std::size(frames); ++i) {
    REQUIRE(writer.Write(frames[i], kTimeUs + static_cast<int64_t>(i), &err));
  }
  REQUIRE(writer.Close(&err));

  std::unique_ptr<knock::PacketSource> source;
  REQUIRE(knock::OpenFileSource(path, Settings(), &source, &err));
  CHECK(source->PollFds().empty());
  int dispatches = 0, link_type = 0;
  const std::vector<knock::Knock> knocks =
      DecodeAll(source.get(), Settings(), &dispatches, &link_type);
  CHECK(link_type == DLT_EN10MB);
  CHECK(dispatches == 1);
  REQUIRE(knocks.size() == 5);
  const struct {
    IpAddress source;
    uint16_t port;
    int64_t time_us;
  } expected[] = {{s4, 20000, kTimeUs},
                  {s6, 20003, kTimeUs + 4},
                  {s6, 20004, kTimeUs + 6},
                  {s4, 20005, kTimeUs + 7},
                  {s6, 20006, kTimeUs + 8}};
  for (size_t i = 0; i < knocks.size(); ++i) {
    INFO("knock " << i);
    CHECK(knocks[i].source == expected[i].source);
    CHECK(knocks[i].port == expected[i].port);
    CHECK(knocks[i].transport == knock::Transport::kTcp);
    CHECK(knocks[i].time_us == expected[i].time_us);
  }
  // The filter let through exactly the five knocks.
  CHECK(source->Stats().received == 5);
  CHECK(source->Stats().dropped_by_kernel == 0);
  CHECK(!source->Dispatch([](const knock::Frame&) {}, &err));
  CHECK(err == "");
}

TEST_CASE("a large raw file comes in batches") {
  TempDir dir("knock-packet-source");
  const std::string path = dir.File("raw.pcap");
  constexpr int kKnocks = 10000;
  std::string err;
  {
    knock::PcapWriter writer;
    REQUIRE(writer.Open(path, DLT_RAW, &err));
    const IpAddress d6 = Ip("2001:db8::2");
    for (int i = 0; i < kKnocks; ++i) {
      IpAddress src = Ip("2001:db8::100");
      src.bytes[14] = static_cast<uint8_t>(i >> 8);
      src.bytes[15] = static_cast<uint8_t>(i);
      const Bytes frame = knock::BuildUdpFrame(
          src, d6, 1, static_cast<uint16_t>(16384 + i), DLT_RAW);
      REQUIRE(writer.Write(frame, kTimeUs + i * 1000, &err));
    }
  }  // the destructor flushes
  std::unique_ptr<knock::PacketSource> source;
  const knock::KnockSettings settings = Settings(KnockProtocol::kUdp);
  REQUIRE(knock::OpenFileSource(path, settings, &source, &err));
  int dispatches = 0, link_type = 0;
  const std::vector<knock::Knock> knocks =
      DecodeAll(source.get(), settings, &dispatches, &link_type);
  CHECK(link_type == DLT_RAW);  // the file says LINKTYPE_RAW (101)
  CHECK(dispatches == 3);       // 4096 + 4096 + 1808
  REQUIRE(knocks.size() == kKnocks);
  CHECK(knocks[9999].port == 16384 + 9999);
  CHECK(knocks[9999].transport == knock::Transport::kUdp);
  CHECK(knocks[9999].time_us == kTimeUs + 9999 * 1000);
  CHECK(knocks[9999].source.ToString() == "2001:db8::270f");
}

TEST_CASE("nanosecond pcap and pcapng files") {
  TempDir dir("knock-packet-source");
  const Bytes frame = knock::BuildTcpSynFrame(
      Ip("198.18.0.7"), Ip("198.19.0.1"), 1, kKnockPort, DLT_EN10MB);
  const uint32_t seconds = 1700000000;
  const uint32_t nanos = 123456789;

  Bytes nano;
  Append32(&nano, 0xa1b23c4d);  // nanosecond magic
  Append16(&nano, 2);
  Append16(&nano, 4);
  for (uint32_t field : {0u, 0u, 65535u, 1u}) Append32(&nano, field);
  for (uint32_t field :
       {seconds, nanos, uint32_t(frame.size()), uint32_t(frame.size())}) {
    Append32(&nano, field);
  }
  nano.insert(nano.end(), frame.begin(), frame.end());
  WriteBytes(dir.File("nano.pcap"), nano);

  Bytes ng;
  // Section header block.
  for (uint32_t field : {0x0a0d0d0au, 28u, 0x1a2b3c4du}) Append32(&ng, field);
  Append16(&ng, 1);
  Append16(&ng, 0);
  for (uint32_t field : {0xffffffffu, 0xffffffffu, 28u}) Append32(&ng, field);
  // Interface description block: Ethernet, default microsecond resolution.
  Append32(&ng, 1);
  Append32(&ng, 20);
  Append16(&ng, DLT_EN10MB);
  Append16(&ng, 0);
  Append32(&ng, 65535);
  Append32(&ng, 20);
  // Enhanced packet block.
  const uint32_t padded = (uint32_t(frame.size()) + 3) & ~3u;
  const uint64_t micros = uint64_t{seconds} * 1000000 + nanos / 1000;
  for (uint32_t field :
       {6u, 32 + padded, 0u, uint32_t(micros >> 32), uint32_t(micros),
        uint32_t(frame.size()), uint32_t(frame.size())}) {
    Append32(&ng, field);
  }
  ng.insert(ng.end(), frame.begin(), frame.end());
  ng.resize(ng.size() + padded - frame.size(), 0);
  Append32(&ng, 32 + padded);
  WriteBytes(dir.File("capture.pcapng"), ng);

  for (const char* name : {"nano.pcap", "capture.pcapng"}) {
    INFO(name);
    std::string err;
    std::unique_ptr<knock::PacketSource> source;
    REQUIRE(knock::OpenFileSource(dir.File(name), Settings(), &source, &err));
    int dispatches = 0, link_type = 0;
    const std::vector<knock::Knock> knocks =
        DecodeAll(source.get(), Settings(), &dispatches, &link_type);
    REQUIRE(knocks.size() == 1);
    CHECK(knocks[0].time_us == int64_t{seconds} * 1000000 + 123456);
    CHECK(knocks[0].source == Ip("198.18.0.7"));
  }
}

TEST_CASE("file source errors quote the file") {
  TempDir dir("knock-packet-source");
  std::string err;
  std::unique_ptr<knock::PacketSource> source;
  CHECK(
      !knock::OpenFileSource("/nonexistent/x.pcap", Settings(), &source, &err));
  CHECK(err ==
        "cannot read \"/nonexistent/x.pcap\": /nonexistent/x.pcap: No such "
        "file or directory");

  const std::string text = dir.File("notes.txt");
  WriteBytes(text, Bytes(64, 'x'));
  CHECK(!knock::OpenFileSource(text, Settings(), &source, &err));
  CHECK(err == "cannot read \"" + text + "\": unknown file format");

  const std::string ppp = dir.File("ppp.pcap");
  knock::PcapWriter writer;
  REQUIRE(writer.Open(ppp, DLT_PPP, &err));
  REQUIRE(writer.Close(&err));
  CHECK(!knock::OpenFileSource(ppp, Settings(), &source, &err));
  CHECK(err == "cannot decode link type PPP of \"" + ppp + "\"");
  CHECK(source == nullptr);
}

TEST_CASE("live source errors quote the interface") {
  std::string err;
  std::unique_ptr<knock::PacketSource> source;
  CHECK(!knock::OpenLiveSource({}, Settings(), &source, &err));
  CHECK(err == "no interfaces to capture on");
  if (geteuid() != 0) {
    CHECK(!knock::OpenLiveSource({"lo"}, Settings(), &source, &err));
    CHECK(err.rfind("cannot capture on \"lo\": ", 0) == 0);
    return;
  }
  CHECK(!knock::OpenLiveSource({"knock-nosuch0"}, Settings(), &source, &err));
  CHECK(err == "cannot capture on \"knock-nosuch0\": No such device exists");
  // A good interface first: its handle is closed again on the failure.
  CHECK(!knock::OpenLiveSource({"lo", "knock-nosuch1"}, Settings(), &source,
                               &err));
  CHECK(err == "cannot capture on \"knock-nosuch1\": No such device exists");
  CHECK(source == nullptr);
}

TEST_CASE("live capture opens on named interfaces and on any") {
  if (geteuid() != 0) {
    WARN("not root: live capture not tested");
    return;
  }
  std::string err;
  std::unique_ptr<knock::PacketSource> source;
  // libpcap only says on stderr when the kernel refused the filter.
  TempDir dir("knock-packet-source");
  const std::string log = dir.File("stderr");
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  REQUIRE(std::freopen(log.c_str(), "w", stderr) != nullptr);
  const bool opened = knock::OpenLiveSource(
      {"lo", "any"}, Settings(KnockProtocol::kBoth), &source, &err);
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::ifstream in(log);
  const std::string complaints((std::istreambuf_iterator<char>(in)), {});
  CHECK(complaints == "");
  REQUIRE(opened);
  const std::vector<int> fds = source->PollFds();
  REQUIRE(fds.size() == 2);
  CHECK(fds[0] >= 0);
  CHECK(fds[1] >= 0);
  CHECK(fds[0] != fds[1]);
  // Non-blocking: returns at once with whatever (probably nothing) is there.
  int frames = 0;
  CHECK(source->Dispatch(
      [&](const knock::Frame& frame) {
        ++frames;
        CHECK(knock::IsDecodableLinkType(frame.link_type));
      },
      &err));
  CHECK(source->Stats().received >= static_cast<uint64_t>(frames));
}
