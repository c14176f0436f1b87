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
#include "knockd/sniffer/port_filter_windows.h"

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
                   const Ancillary& ancillary, size_t* executed = nullptr) {
  uint32_t a = 0, x = 0, memory[BPF_MEMWORDS] = {};
  size_t steps = 0;
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
    if (executed) *executed = ++steps;
    const uint32_t size = BPF_SIZE(insn.code) == BPF_W   ? 4
                          : BPF_SIZE(insn.code) == BPF_H ? 2
                                                         : 1;
    switch (BPF_CLASS(insn.code)) {
      case BPF_LD:
        if (BPF_MODE(insn.code) == BPF_MEM) {
          a = memory[insn.k];
        } else if (BPF_MODE(insn.code) == BPF_IMM) {
          a = insn.k;
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

/// `draws` random ports of [first, first + size), as many clients' windows
/// draw them (repeats fall together), for TCP and UDP.
PortFilterSpec RandomPorts(uint32_t first, uint32_t size, uint32_t draws,
                           uint32_t seed) {
  std::mt19937 random(seed);
  std::set<uint16_t> ports;
  for (uint32_t i = 0; i < draws; ++i)
    ports.insert(static_cast<uint16_t>(first + random() % size));
  return {true, true, std::vector<uint16_t>(ports.begin(), ports.end())};
}

constexpr uint32_t kAllPorts = 0x10000;

/// A knock frame to any port: one frame built once, its destination port
/// rewritten in place (the filter reads no checksum).
class AnyPort {
 public:
  AnyPort(FilterView view, bool udp, bool v6) {
    const int link = view == FilterView::kEthernet ? DLT_EN10MB : DLT_RAW;
    frame_ = udp ? Udp(0x1234, v6, link) : Syn(0x1234, v6, link);
    at_ = (link == DLT_EN10MB ? 14 : 0) + (v6 ? 40 : 20) + 2;
    REQUIRE(frame_[at_] == 0x12);
    REQUIRE(frame_[at_ + 1] == 0x34);
    ancillary_ = {v6 ? 0x86ddu : 0x0800u, PACKET_HOST};
  }
  const Bytes& To(uint32_t port) {
    frame_[at_] = static_cast<uint8_t>(port >> 8);
    frame_[at_ + 1] = static_cast<uint8_t>(port);
    return frame_;
  }
  const Ancillary& ancillary() const { return ancillary_; }

 private:
  Bytes frame_;
  size_t at_ = 0;
  Ancillary ancillary_;
};

/// Every port of 0..65535 the program passes, run in the interpreter;
/// the most instructions one packet ran in `longest`.
std::vector<bool> Passing(const std::vector<sock_filter>& code, FilterView view,
                          bool udp, bool v6, size_t* longest = nullptr) {
  AnyPort frame(view, udp, v6);
  std::vector<bool> passing(kAllPorts);
  for (uint32_t port = 0; port < kAllPorts; ++port) {
    size_t executed = 0;
    const uint32_t verdict =
        Interpret(code, frame.To(port), frame.ancillary(), &executed);
    REQUIRE((verdict == 0 || verdict == kAcceptBytes));
    passing[port] = verdict != 0;
    if (longest) *longest = std::max(*longest, executed);
  }
  return passing;
}

/// The ports of `passing` that `spec` does not hold, and those it holds
/// that do not pass.
struct Mismatch {
  uint32_t extra = 0;
  uint32_t missing = 0;
  uint32_t passed = 0;
};
Mismatch Compare(const std::vector<bool>& passing, const PortFilterSpec& spec) {
  std::vector<bool> held(kAllPorts);
  for (uint16_t port : spec.ports) held[port] = true;
  Mismatch out;
  for (uint32_t port = 0; port < kAllPorts; ++port) {
    out.passed += passing[port];
    out.extra += passing[port] && !held[port];
    out.missing += !passing[port] && held[port];
  }
  return out;
}

/// `spec`'s program in `view` passes its ports and no other, over all
/// 65,536 ports, TCP and UDP, IPv4 and IPv6; the kernel accepts it.
knock::PortFilterProgram CheckExact(const PortFilterSpec& spec,
                                    FilterView view = FilterView::kEthernet) {
  const knock::PortFilterProgram program = Build(spec, view);
  CHECK(program.exact);
  CHECK(program.passed_ports == spec.ports.size());
  CHECK(KernelFilter(program.code).attached());
  for (bool udp : {false, true}) {
    for (bool v6 : {false, true}) {
      const Mismatch mismatch =
          Compare(Passing(program.code, view, udp, v6), spec);
      CHECK(mismatch.extra == 0);
      CHECK(mismatch.missing == 0);
      CHECK(mismatch.passed == spec.ports.size());
    }
  }
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

TEST_CASE("100 default clients' ports pass exactly, in every view",
          "[port_filter_program]") {
  // 100 clients × 5 windows × 4 slots × 8 knocks: 16,000 draws, about
  // 10,200 distinct ports of the 16,384, nearly every 32-port word mixed.
  const knock::SequenceTableImage image = Image(100, 5, 400, 11);
  const PortFilterSpec spec = PortFilterSpecOf(image, KnockProtocol::kBoth);
  REQUIRE(spec.ports.size() > 10000);
  REQUIRE(spec.ports.size() < 10400);
  for (FilterView view :
       {FilterView::kEthernet, FilterView::kNetwork, FilterView::kRawIp}) {
    const knock::PortFilterProgram program = CheckExact(spec, view);
    CHECK(program.test == knock::PortTest::kBitmap);
    // A packet runs the header, a tree of depth 7 over 128 leaves and at
    // most a leaf's 4 segments, never the program's length.
    size_t longest = 0;
    Passing(program.code, view, false, false, &longest);
    CHECK(longest < 80);
  }
  // Through the kernel: every port of the range and around it, IPv4 TCP;
  // a sample for IPv6 UDP, Ethernet and raw IP.
  KernelFilter kernel(Build(spec).code);
  REQUIRE(kernel.attached());
  const std::set<uint16_t> held = PortsOf(image);
  AnyPort syn(FilterView::kEthernet, false, false);
  uint32_t passed = 0;
  for (uint32_t port = kFirstPort - 64; port < kFirstPort + kRangeSize + 64;
       ++port) {
    const bool passes = kernel.Passes(syn.To(port));
    CHECK(passes == (held.count(static_cast<uint16_t>(port)) == 1));
    passed += passes;
  }
  CHECK(passed == held.size());
  AnyPort udp(FilterView::kEthernet, true, true);
  KernelFilter raw_kernel(Build(spec, FilterView::kRawIp).code);
  REQUIRE(raw_kernel.attached());
  AnyPort raw_udp(FilterView::kRawIp, true, true);
  for (uint32_t port = kFirstPort; port < kFirstPort + kRangeSize; port += 7) {
    const bool live = held.count(static_cast<uint16_t>(port)) == 1;
    CHECK(kernel.Passes(udp.To(port)) == live);
    CHECK(raw_kernel.Passes(raw_udp.To(port)) == live);
  }
}

TEST_CASE("the bitmap is exact at the edges of its words and of the range",
          "[port_filter_program]") {
  SECTION("every port of the range") {
    PortFilterSpec spec{true, true, {}};
    for (uint32_t port = kFirstPort; port < kFirstPort + kRangeSize; ++port)
      spec.ports.push_back(static_cast<uint16_t>(port));
    CheckExact(spec);
  }
  SECTION("alternating ports: every word mixed") {
    PortFilterSpec spec{true, true, {}};
    for (uint32_t port = kFirstPort + 1; port < kFirstPort + kRangeSize;
         port += 2)
      spec.ports.push_back(static_cast<uint16_t>(port));
    CHECK(CheckExact(spec).test == knock::PortTest::kBitmap);
  }
  SECTION("words all ones and all zeros next to mixed words") {
    // By word: ones, mixed, ones, zeros, mixed, zeros, ones, ones, mixed;
    // the range's first and last word mixed, their first and last ports in.
    std::mt19937 random(12);
    std::set<uint16_t> ports;
    const uint32_t words = kRangeSize / 32;
    for (uint32_t w = 0; w < words; ++w) {
      const uint32_t low = kFirstPort + w * 32;
      const uint32_t kind = w == 0 || w == words - 1 ? 1 : w % 9;
      for (uint32_t i = 0; i < 32; ++i) {
        const bool in = kind == 0 || kind == 2 || kind == 6 || kind == 7 ||
                        ((kind == 1 || kind == 4 || kind == 8) &&
                         (i == 0 || i == 31 || random() % 2));
        if (in) ports.insert(static_cast<uint16_t>(low + i));
      }
    }
    const PortFilterSpec spec{true, true, {ports.begin(), ports.end()}};
    REQUIRE(spec.ports.front() == kFirstPort);
    REQUIRE(spec.ports.back() == kFirstPort + kRangeSize - 1);
    CHECK(CheckExact(spec).test == knock::PortTest::kBitmap);
  }
  SECTION("a range not aligned to 32 ports") {
    PortFilterSpec spec = RandomPorts(16390, 10001, 9000, 13);
    spec.ports.insert(spec.ports.begin(), 16390);
    spec.ports.push_back(16390 + 10000);
    spec.ports.erase(std::unique(spec.ports.begin(), spec.ports.end()),
                     spec.ports.end());
    CHECK(CheckExact(spec).test == knock::PortTest::kBitmap);
  }
  SECTION("the top of the port space, port 65535 in") {
    PortFilterSpec spec = RandomPorts(49152, 16384, 16000, 14);
    if (spec.ports.back() != 65535) spec.ports.push_back(65535);
    CHECK(CheckExact(spec).test == knock::PortTest::kBitmap);
  }
}

TEST_CASE("a 32,768-port range of random ports still fits exactly",
          "[port_filter_program]") {
  const PortFilterSpec spec = RandomPorts(20000, 32768, 30000, 15);
  const knock::PortFilterProgram program = Build(spec);
  CHECK(program.exact);
  CHECK(program.test == knock::PortTest::kBitmap);
  const Mismatch mismatch =
      Compare(Passing(program.code, FilterView::kEthernet, false, false), spec);
  CHECK(mismatch.extra == 0);
  CHECK(mismatch.missing == 0);
}

TEST_CASE("a set too large for BPF_MAXINSNS passes more, and says how many",
          "[port_filter_program]") {
  SECTION("random ports of the whole port space: the densest words widen") {
    // 2,048 mixed words do not fit; passing the densest ones whole does.
    const PortFilterSpec spec = RandomPorts(1, 65535, 40000, 16);
    const knock::PortFilterProgram program = Build(spec);
    CHECK(!program.exact);
    CHECK(program.test == knock::PortTest::kBitmap);
    CHECK(KernelFilter(program.code).attached());
    for (bool udp : {false, true}) {
      const Mismatch mismatch = Compare(
          Passing(program.code, FilterView::kEthernet, udp, true), spec);
      CHECK(mismatch.missing == 0);
      CHECK(mismatch.passed == program.passed_ports);
      CHECK(mismatch.extra == program.passed_ports - spec.ports.size());
      // Far from the whole space: only the densest words were widened
      // (50,031 ports pass; widening the sparsest first, 54,393).
      CHECK(mismatch.extra > 0);
      CHECK(program.passed_ports < 51000);
    }
  }
  SECTION("long runs split by holes of 1 and 2 ports: the small holes fill") {
    // Runs of 32 ports over the whole space, the holes between them 1 and 2
    // ports in turn: about 1,985 runs, nearly every word mixed with 31 or 30
    // ports. Filling the 1-port holes halves the runs, and the run tree
    // fits: fewer ports than widening the words would pass.
    PortFilterSpec spec{true, false, {}};
    for (uint32_t port = 1, run = 0; port < kAllPorts; ++run) {
      for (uint32_t i = 0; i < 32 && port < kAllPorts; ++i, ++port)
        spec.ports.push_back(static_cast<uint16_t>(port));
      port += 1 + run % 2;
    }
    const knock::PortFilterProgram program = Build(spec);
    CHECK(!program.exact);
    CHECK(program.test == knock::PortTest::kRuns);
    CHECK(KernelFilter(program.code).attached());
    CAPTURE(spec.ports.size(), program.passed_ports);
    const Mismatch mismatch = Compare(
        Passing(program.code, FilterView::kEthernet, false, false), spec);
    CHECK(mismatch.missing == 0);
    CHECK(mismatch.passed == program.passed_ports);
    CHECK(mismatch.extra > 0);
    // The 1-port holes filled: 978 more ports pass (widening: 1,637;
    // filling every hole: 2,934).
    CHECK(program.passed_ports == spec.ports.size() + 978);
  }
}

TEST_CASE(
    "the shorter exact test is built: runs for few ports, else the bitmap",
    "[port_filter_program]") {
  // One default client's ports: the run tree is the shorter.
  const PortFilterSpec one =
      PortFilterSpecOf(Image(100, 5, 4, 17), KnockProtocol::kBoth);
  CHECK(CheckExact(one).test == knock::PortTest::kRuns);
  // Isolated ports 8 apart: 4 to a word, and the bitmap is the shorter
  // already at 2,000 (which the run tree alone held), exact past it.
  PortFilterSpec spec{true, true, {}};
  for (uint32_t i = 0; i < 2000; ++i)
    spec.ports.push_back(static_cast<uint16_t>(kFirstPort + i * 8));
  CHECK(CheckExact(spec).test == knock::PortTest::kBitmap);
  for (uint32_t i = 2000; i < kRangeSize / 8; ++i)
    spec.ports.push_back(static_cast<uint16_t>(kFirstPort + i * 8));
  CHECK(CheckExact(spec).test == knock::PortTest::kBitmap);
  // A dense set is one span, whatever its size.
  PortFilterSpec dense{true, true, {}};
  for (uint32_t port = kFirstPort; port < kFirstPort + kRangeSize; ++port)
    dense.ports.push_back(static_cast<uint16_t>(port));
  const knock::PortFilterProgram whole = Build(dense);
  CHECK(whole.exact);
  CHECK(whole.test == knock::PortTest::kRuns);
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
