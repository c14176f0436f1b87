// The exact-port capture filter: every port of every held window passes,
// every other port of the range does not, in every view the kernel gives a
// capture, and nothing malformed gets through. Programs run in the kernel
// itself (attached to an AF_UNIX datagram socket, which needs no
// privilege) and, for what a socket pair cannot show (the cooked view's
// protocol, outgoing frames), in a small interpreter here.
#include <linux/if_packet.h>
#include <pcap/dlt.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "knockd/sniffer/pcap_writer.h"
#include "knockd/sniffer/port_filter_program.h"

namespace {

using knock::FilterView;
using knock::IpAddress;
using knock::KnockProtocol;
using knock::PortFilterSpec;
using Bytes = std::vector<uint8_t>;

constexpr uint16_t kFirstPort = 16384;
constexpr uint32_t kRangeSize = 16384;
constexpr uint32_t kAcceptBytes = 256;

IpAddress Ip(const char* text) {
  IpAddress address;
  std::string err;
  REQUIRE(IpAddress::Parse(text, &address, &err));
  return address;
}

const IpAddress& Source(bool v6) {
  static const IpAddress v4_source = Ip("198.18.0.7");
  static const IpAddress v6_source = Ip("2001:db8::7");
  return v6 ? v6_source : v4_source;
}
const IpAddress& Destination(bool v6) {
  static const IpAddress v4_destination = Ip("198.18.0.1");
  static const IpAddress v6_destination = Ip("2001:db8::1");
  return v6 ? v6_destination : v4_destination;
}

/// A filter attached to the receiving end of an AF_UNIX datagram pair: the
/// kernel checks the program when it is attached and runs it on every
/// datagram, which is dropped without a word when the program says 0.
class KernelFilter {
 public:
  explicit KernelFilter(const std::vector<sock_filter>& code) {
    REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, fds_) == 0);
    sock_fprog program{static_cast<unsigned short>(code.size()),
                       const_cast<sock_filter*>(code.data())};
    attached_ = setsockopt(fds_[1], SOL_SOCKET, SO_ATTACH_FILTER, &program,
                           sizeof program) == 0;
  }
  ~KernelFilter() {
    close(fds_[0]);
    close(fds_[1]);
  }
  bool attached() const { return attached_; }
  bool Passes(const Bytes& frame) {
    REQUIRE(send(fds_[0], frame.data(), frame.size(), 0) ==
            static_cast<ssize_t>(frame.size()));
    uint8_t buffer[2048];
    return recv(fds_[1], buffer, sizeof buffer, MSG_DONTWAIT) > 0;
  }

 private:
  int fds_[2] = {-1, -1};
  bool attached_ = false;
};

/// What the kernel tells a filter besides the bytes.
struct Ancillary {
  uint32_t protocol = 0;
  uint32_t packet_type = PACKET_HOST;
};

/// Classic BPF as the kernel runs it, for the instructions the generator
/// uses: a load past the end rejects, an unknown instruction or a jump out
/// of the program fails the test.
uint32_t Interpret(const std::vector<sock_filter>& code, const Bytes& packet,
                   const Ancillary& ancillary) {
  uint32_t a = 0, x = 0, memory[BPF_MEMWORDS] = {};
  auto load = [&](uint32_t offset, uint32_t size, uint32_t* out) {
    if (offset == static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)) {
      *out = ancillary.protocol;
      return true;
    }
    if (offset == static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)) {
      *out = ancillary.packet_type;
      return true;
    }
    if (offset > packet.size() || packet.size() - offset < size) return false;
    *out = 0;
    for (uint32_t i = 0; i < size; ++i) *out = (*out << 8) | packet[offset + i];
    return true;
  };
  for (size_t pc = 0; pc < code.size(); ++pc) {
    const sock_filter& insn = code[pc];
    const uint32_t size = BPF_SIZE(insn.code) == BPF_W   ? 4
                          : BPF_SIZE(insn.code) == BPF_H ? 2
                                                         : 1;
    switch (BPF_CLASS(insn.code)) {
      case BPF_LD:
        if (BPF_MODE(insn.code) == BPF_MEM) {
          a = memory[insn.k];
        } else if (BPF_MODE(insn.code) == BPF_ABS) {
          if (!load(insn.k, size, &a)) return 0;
        } else if (BPF_MODE(insn.code) == BPF_IND) {
          if (!load(x + insn.k, size, &a)) return 0;
        } else {
          FAIL("unexpected load " << insn.code);
        }
        break;
      case BPF_LDX:
        REQUIRE(BPF_MODE(insn.code) == BPF_IMM);
        x = insn.k;
        break;
      case BPF_ST:
        memory[insn.k] = a;
        break;
      case BPF_ALU: {
        const uint32_t operand = BPF_SRC(insn.code) == BPF_X ? x : insn.k;
        switch (BPF_OP(insn.code)) {
          case BPF_ADD:
            a += operand;
            break;
          case BPF_AND:
            a &= operand;
            break;
          case BPF_LSH:
            a <<= operand;
            break;
          case BPF_RSH:
            a >>= operand;
            break;
          default:
            FAIL("unexpected ALU op " << insn.code);
        }
        break;
      }
      case BPF_JMP: {
        bool taken = false;
        switch (BPF_OP(insn.code)) {
          case BPF_JA:
            pc += insn.k;
            REQUIRE(pc < code.size());
            continue;
          case BPF_JEQ:
            taken = a == insn.k;
            break;
          case BPF_JGT:
            taken = a > insn.k;
            break;
          case BPF_JGE:
            taken = a >= insn.k;
            break;
          case BPF_JSET:
            taken = (a & insn.k) != 0;
            break;
          default:
            FAIL("unexpected jump " << insn.code);
        }
        pc += taken ? insn.jt : insn.jf;
        REQUIRE(pc < code.size());
        break;
      }
      case BPF_RET:
        return insn.k;
      case BPF_MISC:
        if (BPF_MISCOP(insn.code) == BPF_TAX) {
          x = a;
        } else {
          a = x;
        }
        break;
      default:
        FAIL("unexpected instruction " << insn.code);
    }
  }
  FAIL("the program ran off its end");
  return 0;
}

/// Ports as the helper's image holds them: `windows` blocks of `owners`
/// sequences of `count` random ports of the range.
knock::SequenceTableImage Image(uint64_t oldest_window, uint32_t windows,
                                uint32_t owners, uint32_t seed) {
  knock::SequenceTableImage image;
  image.first_port = kFirstPort;
  image.range_size = kRangeSize;
  image.count = 8;
  image.skew = 1;
  image.oldest_window = oldest_window;
  image.window_count = windows;
  image.center_window = oldest_window + 2;
  for (uint32_t i = 0; i < owners; ++i)
    image.owners.push_back({i, 0, static_cast<uint8_t>(i % 4)});
  std::mt19937 random(seed);
  for (uint32_t i = 0; i < windows * owners * image.count; ++i)
    image.ports.push_back(
        static_cast<uint16_t>(kFirstPort + random() % kRangeSize));
  return image;
}

Bytes Syn(uint16_t port, bool v6, int link = DLT_EN10MB, int tags = 0) {
  return knock::WrapInLink(
      knock::BuildTcpPacket(Source(v6), Destination(v6), 40000, port,
                            knock::kTcpFlagSyn),
      link, tags);
}

Bytes Udp(uint16_t port, bool v6, int link = DLT_EN10MB) {
  return knock::WrapInLink(
      knock::BuildUdpPacket(Source(v6), Destination(v6), 40000, port), link);
}

// An IPv6 packet with `headers` hop-by-hop headers (8 bytes each) in front
// of its TCP header.
Bytes SynBehindExtensionHeaders(uint16_t port, int headers) {
  Bytes packet = knock::BuildTcpPacket(Source(true), Destination(true), 40000,
                                       port, knock::kTcpFlagSyn);
  uint8_t next = packet[6];
  for (int i = 0; i < headers; ++i) {
    const Bytes header = {next, 0, 1, 4, 0, 0, 0, 0};
    packet.insert(packet.begin() + 40, header.begin(), header.end());
    next = 0;
  }
  packet[6] = next;
  const uint32_t payload = static_cast<uint32_t>(packet.size() - 40);
  packet[4] = static_cast<uint8_t>(payload >> 8);
  packet[5] = static_cast<uint8_t>(payload);
  return knock::WrapInLink(packet, DLT_EN10MB);
}

std::set<uint16_t> PortsOf(const knock::SequenceTableImage& image) {
  return {image.ports.begin(), image.ports.end()};
}

knock::PortFilterProgram Build(const PortFilterSpec& spec,
                               FilterView view = FilterView::kEthernet) {
  knock::PortFilterProgram program =
      knock::BuildPortFilterProgram(spec, view, kAcceptBytes);
  REQUIRE(!program.code.empty());
  REQUIRE(program.code.size() <= BPF_MAXINSNS);
  return program;
}

}  // namespace

TEST_CASE("every port of every held window passes, no other port of the range",
          "[port_filter_program]") {
  const knock::SequenceTableImage image = Image(100, 5, 4, 1);
  const std::set<uint16_t> held = PortsOf(image);
  const knock::PortFilterProgram program =
      Build(knock::PortFilterSpecOf(image, KnockProtocol::kTcp));
  CHECK(program.exact);
  CHECK(program.passed_ports == held.size());
  KernelFilter kernel(program.code);
  REQUIRE(kernel.attached());
  for (bool v6 : {false, true}) {
    uint32_t passed = 0;
    for (uint32_t port = kFirstPort; port < kFirstPort + kRangeSize; ++port) {
      const bool passes = kernel.Passes(Syn(static_cast<uint16_t>(port), v6));
      CHECK(passes == (held.count(static_cast<uint16_t>(port)) == 1));
      passed += passes;
    }
    CHECK(passed == held.size());
    // Outside the range too: nothing.
    CHECK(!kernel.Passes(Syn(22, v6)));
    CHECK(!kernel.Passes(Syn(65535, v6)));
  }
}

TEST_CASE("the filter sees through VLAN tags and walks IPv6 extension headers",
          "[port_filter_program]") {
  const knock::SequenceTableImage image = Image(100, 5, 1, 2);
  const uint16_t live = image.ports[0];
  const std::set<uint16_t> held = PortsOf(image);
  uint16_t dead = kFirstPort;
  while (held.count(dead)) ++dead;
  KernelFilter kernel(
      Build(knock::PortFilterSpecOf(image, KnockProtocol::kTcp)).code);
  REQUIRE(kernel.attached());
  for (bool v6 : {false, true}) {
    for (int tags = 0; tags <= 2; ++tags) {
      CHECK(kernel.Passes(Syn(live, v6, DLT_EN10MB, tags)));
      CHECK(!kernel.Passes(Syn(dead, v6, DLT_EN10MB, tags)));
    }
    // A third tag is more than the decoder reads.
    Bytes three_tags = Syn(live, v6, DLT_EN10MB, 2);
    const Bytes tag = {0x81, 0x00, 0x00, 0x01};
    three_tags.insert(three_tags.begin() + 12, tag.begin(), tag.end());
    CHECK(!kernel.Passes(three_tags));
  }
  for (int headers = 1; headers <= 8; ++headers) {
    CHECK(kernel.Passes(SynBehindExtensionHeaders(live, headers)));
    CHECK(!kernel.Passes(SynBehindExtensionHeaders(dead, headers)));
  }
  CHECK(!kernel.Passes(SynBehindExtensionHeaders(live, 9)));
}

TEST_CASE("only knocks of the configured transports pass",
          "[port_filter_program]") {
  const knock::SequenceTableImage image = Image(100, 5, 1, 3);
  const uint16_t live = image.ports[0];
  for (KnockProtocol protocol :
       {KnockProtocol::kTcp, KnockProtocol::kUdp, KnockProtocol::kBoth}) {
    KernelFilter kernel(Build(knock::PortFilterSpecOf(image, protocol)).code);
    REQUIRE(kernel.attached());
    for (bool v6 : {false, true}) {
      CHECK(kernel.Passes(Syn(live, v6)) == (protocol != KnockProtocol::kUdp));
      CHECK(kernel.Passes(Udp(live, v6)) == (protocol != KnockProtocol::kTcp));
      for (uint8_t flags : {uint8_t{knock::kTcpFlagSyn | knock::kTcpFlagAck},
                            uint8_t{knock::kTcpFlagSyn | knock::kTcpFlagRst},
                            uint8_t{knock::kTcpFlagSyn | knock::kTcpFlagFin},
                            uint8_t{knock::kTcpFlagAck}}) {
        CHECK(!kernel.Passes(
            knock::WrapInLink(knock::BuildTcpPacket(Source(v6), Destination(v6),
                                                    40000, live, flags),
                              DLT_EN10MB)));
      }
    }
  }
}

TEST_CASE("IPv4 fragments do not pass", "[port_filter_program]") {
  const knock::SequenceTableImage image = Image(100, 5, 1, 4);
  const uint16_t live = image.ports[0];
  KernelFilter kernel(
      Build(knock::PortFilterSpecOf(image, KnockProtocol::kTcp)).code);
  REQUIRE(kernel.attached());
  Bytes packet = knock::BuildTcpPacket(Source(false), Destination(false), 40000,
                                       live, knock::kTcpFlagSyn);
  CHECK(kernel.Passes(knock::WrapInLink(packet, DLT_EN10MB)));
  packet[6] |= 0x20;  // more fragments
  CHECK(!kernel.Passes(knock::WrapInLink(packet, DLT_EN10MB)));
  packet[6] = 0;
  packet[7] = 1;  // a later fragment
  CHECK(!kernel.Passes(knock::WrapInLink(packet, DLT_EN10MB)));
}

TEST_CASE("raw IP and cooked views read the packet where the kernel has it",
          "[port_filter_program]") {
  const knock::SequenceTableImage image = Image(100, 5, 1, 5);
  const uint16_t live = image.ports[0];
  const std::set<uint16_t> held = PortsOf(image);
  uint16_t dead = kFirstPort;
  while (held.count(dead)) ++dead;
  const PortFilterSpec spec = PortFilterSpecOf(image, KnockProtocol::kBoth);

  KernelFilter raw(Build(spec, FilterView::kRawIp).code);
  REQUIRE(raw.attached());
  for (bool v6 : {false, true}) {
    CHECK(raw.Passes(Syn(live, v6, DLT_RAW)));
    CHECK(raw.Passes(Udp(live, v6, DLT_RAW)));
    CHECK(!raw.Passes(Syn(dead, v6, DLT_RAW)));
  }

  // A cooked capture's kernel filter sees the network header, and the
  // ethertype only as the skb's protocol.
  const std::vector<sock_filter> cooked =
      Build(spec, FilterView::kNetwork).code;
  REQUIRE(KernelFilter(cooked).attached());
  for (bool v6 : {false, true}) {
    const Ancillary ancillary{v6 ? 0x86ddu : 0x0800u, PACKET_HOST};
    CHECK(Interpret(cooked, Syn(live, v6, DLT_RAW), ancillary) == kAcceptBytes);
    CHECK(Interpret(cooked, Udp(live, v6, DLT_RAW), ancillary) == kAcceptBytes);
    CHECK(Interpret(cooked, Syn(dead, v6, DLT_RAW), ancillary) == 0);
    // ARP, say: not a knock whatever the bytes.
    CHECK(Interpret(cooked, Syn(live, v6, DLT_RAW), {0x0806, PACKET_HOST}) ==
          0);
  }
}

TEST_CASE("a bound owner's tail can be anywhere: the whole range passes",
          "[port_filter_program]") {
  knock::SequenceTableImage image = Image(100, 5, 1, 5);
  // Control: unbound, only the table's ports pass.
  CHECK(PortFilterSpecOf(image, KnockProtocol::kTcp).ports.size() ==
        PortsOf(image).size());
  REQUIRE(PortsOf(image).size() < image.range_size);
  image.owners[0].bound = true;
  const PortFilterSpec spec = PortFilterSpecOf(image, KnockProtocol::kTcp);
  REQUIRE(spec.ports.size() == image.range_size);
  CHECK(spec.ports.front() == image.first_port);
  CHECK(spec.ports.back() == image.first_port + image.range_size - 1);
}

TEST_CASE("frames the host sends are not knocks", "[port_filter_program]") {
  const knock::SequenceTableImage image = Image(100, 5, 1, 6);
  const uint16_t live = image.ports[0];
  const PortFilterSpec spec = PortFilterSpecOf(image, KnockProtocol::kTcp);
  const std::vector<sock_filter> code = Build(spec).code;
  for (uint32_t type : {PACKET_HOST, PACKET_BROADCAST, PACKET_OTHERHOST}) {
    CHECK(Interpret(code, Syn(live, false), {0, type}) == kAcceptBytes);
  }
  CHECK(Interpret(code, Syn(live, false), {0, PACKET_OUTGOING}) == 0);
}

TEST_CASE("the filter passes the union of the windows before and after a roll",
          "[port_filter_program]") {
  // The image at window w holds [w-2, w+2]; the next one [w-1, w+3].
  const knock::SequenceTableImage before = Image(98, 5, 4, 7);
  const knock::SequenceTableImage after = Image(99, 5, 4, 8);
  const PortFilterSpec spec =
      knock::UnionOf(knock::PortFilterSpecOf(before, KnockProtocol::kTcp),
                     knock::PortFilterSpecOf(after, KnockProtocol::kUdp));
  CHECK(spec.tcp);
  CHECK(spec.udp);
  std::set<uint16_t> both = PortsOf(before);
  for (uint16_t port : after.ports) both.insert(port);
  CHECK(spec.ports == std::vector<uint16_t>(both.begin(), both.end()));
  KernelFilter kernel(Build(spec).code);
  REQUIRE(kernel.attached());
  uint32_t passed = 0;
  for (uint32_t port = kFirstPort; port < kFirstPort + kRangeSize; ++port) {
    const bool passes = kernel.Passes(Syn(static_cast<uint16_t>(port), false));
    CHECK(passes == (both.count(static_cast<uint16_t>(port)) == 1));
    passed += passes;
  }
  CHECK(passed == both.size());
}

TEST_CASE("a set too large for BPF_MAXINSNS fills its smallest gaps",
          "[port_filter_program]") {
  // Every third port: 5,462 single-port spans, gaps of 2.
  PortFilterSpec spec{true, false, {}};
  for (uint32_t port = kFirstPort; port < kFirstPort + kRangeSize; port += 3)
    spec.ports.push_back(static_cast<uint16_t>(port));
  const knock::PortFilterProgram program = Build(spec);
  CHECK(!program.exact);
  CHECK(program.passed_ports ==
        uint32_t{spec.ports.back()} - spec.ports.front() + 1);
  KernelFilter kernel(program.code);
  REQUIRE(kernel.attached());
  for (uint16_t port : spec.ports) CHECK(kernel.Passes(Syn(port, false)));
  CHECK(!kernel.Passes(Syn(kFirstPort - 1, false)));

  // 1,000 ports with gaps of 1, then 1,500 with gaps of 7: only the small
  // gaps are filled.
  PortFilterSpec mixed{true, false, {}};
  for (uint32_t i = 0; i < 1000; ++i)
    mixed.ports.push_back(static_cast<uint16_t>(kFirstPort + i * 2));
  for (uint32_t i = 0; i < 1500; ++i)
    mixed.ports.push_back(static_cast<uint16_t>(kFirstPort + 2000 + i * 8));
  const knock::PortFilterProgram coarse = Build(mixed);
  CHECK(!coarse.exact);
  // [0, 2000] is one span now (2000 is the first of the sparse part).
  CHECK(coarse.passed_ports == 2001 + 1499);
  KernelFilter coarse_kernel(coarse.code);
  REQUIRE(coarse_kernel.attached());
  for (uint16_t port : mixed.ports)
    CHECK(coarse_kernel.Passes(Syn(port, false)));
}

TEST_CASE("the exact filter holds about 2,000 isolated ports",
          "[port_filter_program]") {
  PortFilterSpec spec{true, true, {}};
  for (uint32_t i = 0; i < 2000; ++i)
    spec.ports.push_back(static_cast<uint16_t>(kFirstPort + i * 8));
  CHECK(Build(spec).exact);
  for (uint32_t i = 2000; i < 2400; ++i)
    spec.ports.push_back(static_cast<uint16_t>(kFirstPort + i * 8));
  CHECK(!Build(spec).exact);
  // A dense set is one span, whatever its size.
  PortFilterSpec dense{true, true, {}};
  for (uint32_t port = kFirstPort; port < kFirstPort + kRangeSize; ++port)
    dense.ports.push_back(static_cast<uint16_t>(port));
  const knock::PortFilterProgram whole = Build(dense);
  CHECK(whole.exact);
  CHECK(whole.passed_ports == kRangeSize);
}

TEST_CASE("malformed frames are rejected, never read past their end",
          "[port_filter_program]") {
  const knock::SequenceTableImage image = Image(100, 5, 1, 9);
  const uint16_t live = image.ports[0];
  const PortFilterSpec spec = PortFilterSpecOf(image, KnockProtocol::kBoth);
  for (FilterView view :
       {FilterView::kEthernet, FilterView::kNetwork, FilterView::kRawIp}) {
    const std::vector<sock_filter> code = Build(spec, view).code;
    const int link = view == FilterView::kEthernet ? DLT_EN10MB : DLT_RAW;
    for (bool v6 : {false, true}) {
      const Ancillary ancillary{v6 ? 0x86ddu : 0x0800u, PACKET_HOST};
      const Bytes whole = Syn(live, v6, link, 0);
      CHECK(Interpret(code, whole, ancillary) == kAcceptBytes);
      // Cut before the destination port's end: nothing to read there.
      const size_t port_end = whole.size() - 20 + 4;
      for (size_t length = 0; length < port_end; ++length)
        CHECK(Interpret(code, Bytes(whole.begin(), whole.begin() + length),
                        ancillary) == 0);
    }
    std::mt19937 random(10);
    for (int i = 0; i < 20000; ++i) {
      Bytes frame(random() % 120);
      for (uint8_t& byte : frame) byte = static_cast<uint8_t>(random());
      Interpret(code, frame, {0x86dd, PACKET_HOST});
    }
  }
}

TEST_CASE("link types map to the view the kernel gives their filter",
          "[port_filter_program]") {
  FilterView view;
  REQUIRE(knock::FilterViewOfLinkType(DLT_EN10MB, &view));
  CHECK(view == FilterView::kEthernet);
  REQUIRE(knock::FilterViewOfLinkType(DLT_LINUX_SLL2, &view));
  CHECK(view == FilterView::kNetwork);
  REQUIRE(knock::FilterViewOfLinkType(DLT_LINUX_SLL, &view));
  CHECK(view == FilterView::kNetwork);
  REQUIRE(knock::FilterViewOfLinkType(DLT_RAW, &view));
  CHECK(view == FilterView::kRawIp);
  CHECK(!knock::FilterViewOfLinkType(DLT_NULL, &view));
}
