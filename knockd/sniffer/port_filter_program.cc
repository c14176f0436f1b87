#include "knockd/sniffer/port_filter_program.h"

#include <linux/if_packet.h>
#include <pcap/dlt.h>

#include <algorithm>
#include <bit>
#include <iterator>
#include <utility>

namespace knock {

namespace {

constexpr int kLinktypeRaw = 101;
constexpr uint32_t kEthertypeIpv4 = 0x0800;
constexpr uint32_t kEthertypeIpv6 = 0x86dd;
constexpr uint32_t kEthertypeVlan = 0x8100;
constexpr uint32_t kEthertypeQinQ = 0x88a8;
constexpr uint32_t kEthernetHeaderBytes = 14;
constexpr uint32_t kVlanTagBytes = 4;
constexpr int kMaxVlanTags = 2;  // as the decoder
constexpr uint32_t kIpv6HeaderBytes = 40;
constexpr int kMaxIpv6ExtensionHeaders = 8;  // as the decoder
constexpr uint32_t kProtoHopByHop = 0;
constexpr uint32_t kProtoTcp = 6;
constexpr uint32_t kProtoUdp = 17;
constexpr uint32_t kProtoRouting = 43;
constexpr uint32_t kProtoAh = 51;
constexpr uint32_t kProtoDestOptions = 60;
// SYN, ACK, RST and FIN; a knock has SYN alone among them.
constexpr uint32_t kTcpFlagsMask = 0x17;
constexpr uint32_t kTcpSyn = 0x02;
// More-fragments and the fragment offset.
constexpr uint32_t kIpv4FragmentMask = 0x3fff;
// Scratch memory cells.
constexpr uint32_t kMemProtocol = 0;
constexpr uint32_t kMemLength = 1;
// The bitmap test's: the port, and 1 << (port & 31).
constexpr uint32_t kMemPort = 2;
constexpr uint32_t kMemBit = 3;
constexpr uint32_t kWordPorts = 32;
constexpr uint32_t kBitmapWords = 0x10000 / kWordPorts;
// A conditional jump's offsets are one byte.
constexpr uint32_t kMaxShortJump = 255;
// The spans a leaf of the comparison tree tests one after the other.
constexpr size_t kLeafSpans = 4;
// The segments (runs or bitmap words) a leaf of the bitmap's tree tests.
constexpr size_t kLeafSegments = 4;

sock_filter Insn(uint16_t code, uint32_t k, uint8_t jt = 0, uint8_t jf = 0) {
  return sock_filter{code, jt, jf, k};
}

/// A run of ports the program passes, both ends included.
struct Span {
  uint32_t low;
  uint32_t high;
};

/// Straight-line code with forward jumps to labels, resolved at the end.
/// The header is short, so every conditional jump in it fits a byte.
class Assembler {
 public:
  static constexpr int kNext = -1;

  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void Bind(int label) { labels_[label] = static_cast<int>(code_.size()); }
  void Stmt(uint16_t code, uint32_t k = 0) { code_.push_back(Insn(code, k)); }
  /// A conditional jump; kNext falls through.
  void Jump(uint16_t code, uint32_t k, int if_true, int if_false) {
    fixups_.push_back({code_.size(), if_true, if_false});
    code_.push_back(Insn(code, k));
  }
  void Goto(int label) { Jump(BPF_JMP | BPF_JA, 0, label, kNext); }

  /// False if a jump does not reach (a bug: the header grew too long).
  bool Resolve(std::vector<sock_filter>* out) {
    for (const Fixup& fixup : fixups_) {
      sock_filter& insn = code_[fixup.at];
      uint32_t if_true = 0, if_false = 0;
      if (!Distance(fixup.at, fixup.if_true, &if_true) ||
          !Distance(fixup.at, fixup.if_false, &if_false))
        return false;
      if (BPF_OP(insn.code) == BPF_JA) {
        insn.k = if_true;
      } else {
        if (if_true > kMaxShortJump || if_false > kMaxShortJump) return false;
        insn.jt = static_cast<uint8_t>(if_true);
        insn.jf = static_cast<uint8_t>(if_false);
      }
    }
    *out = code_;
    return true;
  }

 private:
  struct Fixup {
    size_t at;
    int if_true;
    int if_false;
  };
  bool Distance(size_t at, int label, uint32_t* out) const {
    if (label == kNext) {
      *out = 0;
      return true;
    }
    const int target = labels_[label];
    if (target <= static_cast<int>(at)) return false;
    *out = static_cast<uint32_t>(target - static_cast<int>(at) - 1);
    return true;
  }

  std::vector<sock_filter> code_;
  std::vector<int> labels_;
  std::vector<Fixup> fixups_;
};

constexpr uint16_t kLdAbsW = BPF_LD | BPF_W | BPF_ABS;
constexpr uint16_t kLdAbsH = BPF_LD | BPF_H | BPF_ABS;
constexpr uint16_t kLdAbsB = BPF_LD | BPF_B | BPF_ABS;
constexpr uint16_t kLdIndH = BPF_LD | BPF_H | BPF_IND;
constexpr uint16_t kLdIndB = BPF_LD | BPF_B | BPF_IND;
constexpr uint16_t kJeq = BPF_JMP | BPF_JEQ | BPF_K;
constexpr uint16_t kJgt = BPF_JMP | BPF_JGT | BPF_K;
constexpr uint16_t kJge = BPF_JMP | BPF_JGE | BPF_K;
constexpr uint16_t kJset = BPF_JMP | BPF_JSET | BPF_K;
constexpr uint16_t kRet = BPF_RET | BPF_K;

/// Labels of the blocks every path through the header ends in.
struct HeaderLabels {
  int reject;
  int ipv4;       // X = offset of the IPv4 header
  int ipv6;       // X = offset of the IPv6 header
  int transport;  // A = protocol, X = offset of its header
};

// Sets X to the network header's offset and goes to its family's block.
void GoToFamily(Assembler* a, uint32_t offset, int family) {
  a->Stmt(BPF_LDX | BPF_W | BPF_IMM, offset);
  a->Goto(family);
}

void EmitEthernet(Assembler* a, const HeaderLabels& l) {
  uint32_t offset = kEthernetHeaderBytes;
  a->Stmt(kLdAbsH, offset - 2);
  for (int tags = 0;; ++tags) {
    const int v4 = a->NewLabel(), v6 = a->NewLabel();
    a->Jump(kJeq, kEthertypeIpv4, v4, Assembler::kNext);
    a->Jump(kJeq, kEthertypeIpv6, v6, Assembler::kNext);
    const int tagged = a->NewLabel();
    if (tags < kMaxVlanTags) {
      a->Jump(kJeq, kEthertypeVlan, tagged, Assembler::kNext);
      a->Jump(kJeq, kEthertypeQinQ, tagged, l.reject);
    } else {
      a->Goto(l.reject);
    }
    a->Bind(v4);
    GoToFamily(a, offset, l.ipv4);
    a->Bind(v6);
    GoToFamily(a, offset, l.ipv6);
    if (tags == kMaxVlanTags) return;
    a->Bind(tagged);
    // The tag's own ethertype field follows its 2-byte TCI.
    a->Stmt(kLdAbsH, offset + 2);
    offset += kVlanTagBytes;
  }
}

void EmitNetwork(Assembler* a, const HeaderLabels& l) {
  const int v6 = a->NewLabel();
  a->Stmt(kLdAbsW, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL));
  const int v4 = a->NewLabel();
  a->Jump(kJeq, kEthertypeIpv4, v4, Assembler::kNext);
  a->Jump(kJeq, kEthertypeIpv6, v6, l.reject);
  a->Bind(v4);
  GoToFamily(a, 0, l.ipv4);
  a->Bind(v6);
  GoToFamily(a, 0, l.ipv6);
}

void EmitRawIp(Assembler* a, const HeaderLabels& l) {
  const int v4 = a->NewLabel(), v6 = a->NewLabel();
  a->Stmt(kLdAbsB, 0);
  a->Stmt(BPF_ALU | BPF_RSH | BPF_K, 4);
  a->Jump(kJeq, 4, v4, Assembler::kNext);
  a->Jump(kJeq, 6, v6, l.reject);
  a->Bind(v4);
  GoToFamily(a, 0, l.ipv4);
  a->Bind(v6);
  GoToFamily(a, 0, l.ipv6);
}

// X = IPv4 header. Drops fragments (the decoder does), leaves A = protocol
// and X = the transport header.
void EmitIpv4(Assembler* a, const HeaderLabels& l) {
  a->Bind(l.ipv4);
  a->Stmt(kLdIndH, 6);
  a->Jump(kJset, kIpv4FragmentMask, l.reject, Assembler::kNext);
  a->Stmt(kLdIndB, 9);
  a->Stmt(BPF_ST, kMemProtocol);
  a->Stmt(kLdIndB, 0);
  a->Stmt(BPF_ALU | BPF_AND | BPF_K, 0x0f);
  a->Stmt(BPF_ALU | BPF_LSH | BPF_K, 2);
  a->Stmt(BPF_ALU | BPF_ADD | BPF_X);
  a->Stmt(BPF_MISC | BPF_TAX);
  a->Stmt(BPF_LD | BPF_MEM, kMemProtocol);
  a->Goto(l.transport);
}

// X = IPv6 header. Walks the extension headers the decoder walks, as far
// as it does, then leaves A = next header and X = its offset.
void EmitIpv6(Assembler* a, const HeaderLabels& l) {
  a->Bind(l.ipv6);
  a->Stmt(kLdIndB, 6);
  a->Stmt(BPF_ST, kMemProtocol);
  a->Stmt(BPF_MISC | BPF_TXA);
  a->Stmt(BPF_ALU | BPF_ADD | BPF_K, kIpv6HeaderBytes);
  a->Stmt(BPF_MISC | BPF_TAX);
  a->Stmt(BPF_LD | BPF_MEM, kMemProtocol);
  for (int headers = 0; headers <= kMaxIpv6ExtensionHeaders; ++headers) {
    const int other = a->NewLabel(), ah = a->NewLabel();
    // One more than the decoder walks is dropped, as the decoder does.
    const bool last = headers == kMaxIpv6ExtensionHeaders;
    const int walked = last ? l.reject : other;
    a->Jump(kJeq, kProtoHopByHop, walked, Assembler::kNext);
    a->Jump(kJeq, kProtoRouting, walked, Assembler::kNext);
    a->Jump(kJeq, kProtoDestOptions, walked, Assembler::kNext);
    a->Jump(kJeq, kProtoAh, last ? l.reject : ah, l.transport);
    if (last) return;
    // AH counts its length in 4-byte units minus 2; the others in 8-byte
    // units not counting the first 8.
    const int step = a->NewLabel();
    a->Bind(ah);
    a->Stmt(kLdIndB, 1);
    a->Stmt(BPF_ALU | BPF_ADD | BPF_K, 2);
    a->Stmt(BPF_ALU | BPF_LSH | BPF_K, 2);
    a->Goto(step);
    a->Bind(other);
    a->Stmt(kLdIndB, 1);
    a->Stmt(BPF_ALU | BPF_ADD | BPF_K, 1);
    a->Stmt(BPF_ALU | BPF_LSH | BPF_K, 3);
    a->Bind(step);
    a->Stmt(BPF_ST, kMemLength);
    a->Stmt(kLdIndB, 0);
    a->Stmt(BPF_ST, kMemProtocol);
    a->Stmt(BPF_LD | BPF_MEM, kMemLength);
    a->Stmt(BPF_ALU | BPF_ADD | BPF_X);
    a->Stmt(BPF_MISC | BPF_TAX);
    a->Stmt(BPF_LD | BPF_MEM, kMemProtocol);
  }
}

// A = protocol, X = its header. Leaves A = destination port. Its
// refusals are its own `ret #0`s: the shared one lies behind it.
void EmitTransport(Assembler* a, const HeaderLabels& l,
                   const PortFilterSpec& spec) {
  a->Bind(l.transport);
  const int tcp = a->NewLabel(), port = a->NewLabel();
  if (spec.tcp) a->Jump(kJeq, kProtoTcp, tcp, Assembler::kNext);
  if (spec.udp) a->Jump(kJeq, kProtoUdp, port, Assembler::kNext);
  a->Stmt(kRet, 0);
  if (spec.tcp) {
    a->Bind(tcp);
    a->Stmt(kLdIndB, 13);
    a->Stmt(BPF_ALU | BPF_AND | BPF_K, kTcpFlagsMask);
    a->Jump(kJeq, kTcpSyn, port, Assembler::kNext);
    a->Stmt(kRet, 0);
  }
  a->Bind(port);
  a->Stmt(kLdIndH, 2);
}

/// Everything up to A = destination port of a candidate knock; the
/// comparison tree follows it directly.
bool BuildHeader(FilterView view, const PortFilterSpec& spec,
                 std::vector<sock_filter>* out) {
  Assembler a;
  HeaderLabels l{a.NewLabel(), a.NewLabel(), a.NewLabel(), a.NewLabel()};
  // On Linux libpcap skips outgoing frames only after the kernel copied
  // them; here they stay in the kernel.
  a.Stmt(kLdAbsW, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE));
  const int incoming = a.NewLabel();
  a.Jump(kJeq, PACKET_OUTGOING, Assembler::kNext, incoming);
  a.Stmt(kRet, 0);
  a.Bind(incoming);
  // The link layer's refusals end here, close by: a conditional jump
  // reaches only 255 instructions.
  const int link_reject = a.NewLabel();
  HeaderLabels link = l;
  link.reject = link_reject;
  switch (view) {
    case FilterView::kEthernet:
      EmitEthernet(&a, link);
      break;
    case FilterView::kNetwork:
      EmitNetwork(&a, link);
      break;
    case FilterView::kRawIp:
      EmitRawIp(&a, link);
      break;
  }
  a.Bind(link_reject);
  a.Stmt(kRet, 0);
  EmitIpv4(&a, l);
  EmitIpv6(&a, l);
  const int transport_start = a.NewLabel();
  a.Goto(transport_start);
  a.Bind(l.reject);
  a.Stmt(kRet, 0);
  a.Bind(transport_start);
  EmitTransport(&a, l, spec);
  return a.Resolve(out);
}

void Append(std::vector<sock_filter>* to,
            const std::vector<sock_filter>& from) {
  to->insert(to->end(), from.begin(), from.end());
}

/// A balanced comparison tree over `count` sorted pieces of the port
/// space from `first` on, `low(i)` the first port of piece i: each node
/// sends ports at or above its middle piece's start right, the rest left;
/// `leaf(first, count)` tests up to `leaf_pieces` pieces. A = port.
template <typename Low, typename LeafCode>
std::vector<sock_filter> Tree(size_t first, size_t count, size_t leaf_pieces,
                              const Low& low, const LeafCode& leaf) {
  if (count <= leaf_pieces) return leaf(first, count);
  const size_t middle = first + count / 2;
  const std::vector<sock_filter> left =
      Tree(first, count / 2, leaf_pieces, low, leaf);
  const std::vector<sock_filter> right =
      Tree(middle, count - count / 2, leaf_pieces, low, leaf);
  std::vector<sock_filter> code;
  if (left.size() <= kMaxShortJump) {
    code.push_back(
        Insn(kJge, low(middle), static_cast<uint8_t>(left.size()), 0));
  } else {
    // Too far for a conditional jump: it skips an unconditional one.
    code.push_back(Insn(kJge, low(middle), 0, 1));
    code.push_back(Insn(BPF_JMP | BPF_JA, static_cast<uint32_t>(left.size())));
  }
  Append(&code, left);
  Append(&code, right);
  return code;
}

// A leaf tests its spans in order; A = port.
std::vector<sock_filter> SpanLeaf(const Span* spans, size_t count,
                                  uint32_t accept_bytes) {
  std::vector<sock_filter> code;
  size_t size = 2;
  for (size_t i = 0; i < count; ++i)
    size += spans[i].low == spans[i].high ? 1 : 2;
  const size_t accept_at = size - 1;
  for (size_t i = 0; i < count; ++i) {
    const Span& span = spans[i];
    if (span.low == span.high) {
      code.push_back(Insn(kJeq, span.low,
                          static_cast<uint8_t>(accept_at - code.size() - 1),
                          0));
    } else {
      // Below the span: skip its second test; above it: go on.
      code.push_back(Insn(kJge, span.low, 0, 1));
      code.push_back(Insn(kJgt, span.high, 0,
                          static_cast<uint8_t>(accept_at - code.size() - 1)));
    }
  }
  code.push_back(Insn(kRet, 0));
  code.push_back(Insn(kRet, accept_bytes));
  return code;
}

/// The run tree over `spans` (sorted, disjoint).
std::vector<sock_filter> SpanTree(const std::vector<Span>& spans,
                                  uint32_t accept_bytes) {
  return Tree(
      0, spans.size(), kLeafSpans, [&](size_t i) { return spans[i].low; },
      [&](size_t first, size_t count) {
        return SpanLeaf(spans.data() + first, count, accept_bytes);
      });
}

std::vector<Span> SpansOf(const std::vector<uint16_t>& ports) {
  std::vector<Span> spans;
  for (uint16_t port : ports) {
    if (!spans.empty() && spans.back().high + 1 == port) {
      spans.back().high = port;
    } else {
      spans.push_back({port, port});
    }
  }
  return spans;
}

/// `spans` with every gap of at most `gap` ports filled in.
std::vector<Span> FillGaps(const std::vector<Span>& spans, uint32_t gap) {
  std::vector<Span> out;
  for (const Span& span : spans) {
    if (!out.empty() && span.low - out.back().high - 1 <= gap) {
      out.back().high = span.high;
    } else {
      out.push_back(span);
    }
  }
  return out;
}

uint32_t PortsIn(const std::vector<Span>& spans) {
  uint32_t ports = 0;
  for (const Span& span : spans) ports += span.high - span.low + 1;
  return ports;
}

/// Bit i of word w set: port 32·w + i passes.
using Bitmap = std::vector<uint32_t>;

Bitmap BitmapOf(const std::vector<uint16_t>& ports) {
  Bitmap words(kBitmapWords, 0);
  for (uint16_t port : ports)
    words[port / kWordPorts] |= uint32_t{1} << (port % kWordPorts);
  return words;
}

uint32_t PortsIn(const Bitmap& words) {
  uint32_t ports = 0;
  for (uint32_t word : words)
    ports += static_cast<uint32_t>(std::popcount(word));
  return ports;
}

/// A piece of the port space the bitmap program decides as a whole: a run
/// of ports that all fail or all pass (whole words of zeros or ones, merged
/// with their like neighbours), or one mixed 32-port word tested bit by
/// bit. The segments tile the port space: one ends where the next starts.
struct Segment {
  enum Kind { kReject, kAccept, kWord } kind;
  uint32_t low;
  uint32_t bits;  // kWord: the word
};

std::vector<Segment> SegmentsOf(const Bitmap& words) {
  std::vector<Segment> segments;
  for (uint32_t w = 0; w < words.size(); ++w) {
    const Segment::Kind kind = words[w] == 0            ? Segment::kReject
                               : words[w] == 0xffffffff ? Segment::kAccept
                                                        : Segment::kWord;
    if (kind != Segment::kWord && !segments.empty() &&
        segments.back().kind == kind)
      continue;
    segments.push_back({kind, w * kWordPorts, words[w]});
  }
  return segments;
}

// A leaf tests its segments in order, each but the last behind a `jge` to
// the next one's start; A = port, which the tree above keeps within the
// leaf's segments. Its own `ret #0` and `ret #accept` end it.
std::vector<sock_filter> SegmentLeaf(const Segment* segments, size_t count,
                                     uint32_t accept_bytes) {
  size_t size = 2;
  for (size_t i = 0; i < count; ++i) {
    const bool last = i + 1 == count;
    size += (last ? 0 : 1) + (segments[i].kind == Segment::kWord ? 2
                              : last                             ? 1
                                                                 : 0);
  }
  const size_t reject_at = size - 2, accept_at = size - 1;
  std::vector<sock_filter> code;
  // The offset of a jump at the next instruction to `target`.
  auto to = [&](size_t target) {
    return static_cast<uint8_t>(target - code.size() - 1);
  };
  for (size_t i = 0; i < count; ++i) {
    const Segment& segment = segments[i];
    const bool last = i + 1 == count;
    const bool accept = segment.kind == Segment::kAccept;
    if (segment.kind == Segment::kWord) {
      // At or past the next segment: skip this word's test.
      if (!last) code.push_back(Insn(kJge, segments[i + 1].low, 2, 0));
      code.push_back(Insn(BPF_LD | BPF_MEM, kMemBit));
      code.push_back(Insn(kJset, segment.bits, to(accept_at), to(reject_at)));
    } else if (!last) {
      code.push_back(Insn(kJge, segments[i + 1].low, 0,
                          to(accept ? accept_at : reject_at)));
    } else {
      code.push_back(Insn(kRet, accept ? accept_bytes : 0));
    }
  }
  code.push_back(Insn(kRet, 0));
  code.push_back(Insn(kRet, accept_bytes));
  return code;
}

/// The bitmap test of `words`: M[kMemBit] = 1 << (port & 31) once, then a
/// comparison tree over the segments.
std::vector<sock_filter> BitmapTest(const Bitmap& words,
                                    uint32_t accept_bytes) {
  const std::vector<Segment> segments = SegmentsOf(words);
  std::vector<sock_filter> code = {
      Insn(BPF_ST, kMemPort),
      Insn(BPF_ALU | BPF_AND | BPF_K, kWordPorts - 1),
      Insn(BPF_MISC | BPF_TAX, 0),
      Insn(BPF_LD | BPF_IMM, 1),
      Insn(BPF_ALU | BPF_LSH | BPF_X, 0),
      Insn(BPF_ST, kMemBit),
      Insn(BPF_LD | BPF_MEM, kMemPort),
  };
  Append(&code, Tree(
                    0, segments.size(), kLeafSegments,
                    [&](size_t i) { return segments[i].low; },
                    [&](size_t first, size_t count) {
                      return SegmentLeaf(segments.data() + first, count,
                                         accept_bytes);
                    }));
  return code;
}

/// `words` with the `count` first of `order` (mixed words, densest first)
/// passing whole.
Bitmap Widen(Bitmap words, const std::vector<uint32_t>& order, size_t count) {
  for (size_t i = 0; i < count; ++i) words[order[i]] = 0xffffffff;
  return words;
}

/// A port test and what it passes.
struct PortTestCode {
  PortTest test = PortTest::kRuns;
  std::vector<sock_filter> code;
  uint32_t passed_ports = 0;
};

/// The smallest gaps between the runs of `ports` filled in until the run
/// tree takes at most `room` instructions; filling all gaps leaves one span,
/// which always fits.
PortTestCode FilledRuns(const std::vector<uint16_t>& ports, size_t room,
                        uint32_t accept_bytes) {
  const std::vector<Span> spans = SpansOf(ports);
  uint32_t low = 1, high = 0xffff;
  while (low < high) {
    const uint32_t middle = low + (high - low) / 2;
    if (SpanTree(FillGaps(spans, middle), accept_bytes).size() <= room) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  const std::vector<Span> filled = FillGaps(spans, low);
  return {PortTest::kRuns, SpanTree(filled, accept_bytes), PortsIn(filled)};
}

/// The densest mixed words of `words` widened to pass whole until the
/// bitmap test takes at most `room` instructions; false if even widening
/// every mixed word leaves it too long.
bool WidenedBitmap(const Bitmap& words, size_t room, uint32_t accept_bytes,
                   PortTestCode* out) {
  std::vector<uint32_t> order;
  for (uint32_t w = 0; w < words.size(); ++w)
    if (words[w] != 0 && words[w] != 0xffffffff) order.push_back(w);
  // Densest first: widening them passes the fewest new ports.
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return std::popcount(words[a]) > std::popcount(words[b]);
  });
  auto fits = [&](size_t count) {
    return BitmapTest(Widen(words, order, count), accept_bytes).size() <= room;
  };
  if (!fits(order.size())) return false;
  size_t low = 0, high = order.size();
  while (low < high) {
    const size_t middle = low + (high - low) / 2;
    if (fits(middle)) {
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  const Bitmap widened = Widen(words, order, low);
  *out = {PortTest::kBitmap, BitmapTest(widened, accept_bytes),
          PortsIn(widened)};
  return true;
}

/// The shortest exact test of `ports` within `room` instructions; if none
/// fits, the widened bitmap or the filled runs, whichever passes fewer
/// ports. False for an inexact one.
bool ChoosePortTest(const std::vector<uint16_t>& ports, size_t room,
                    uint32_t accept_bytes, PortTestCode* out) {
  const uint32_t count = static_cast<uint32_t>(ports.size());
  PortTestCode runs{PortTest::kRuns, SpanTree(SpansOf(ports), accept_bytes),
                    count};
  const Bitmap words = BitmapOf(ports);
  PortTestCode bitmap{PortTest::kBitmap, BitmapTest(words, accept_bytes),
                      count};
  if (runs.code.size() <= room || bitmap.code.size() <= room) {
    const bool runs_shorter = runs.code.size() <= bitmap.code.size();
    *out = std::move(runs_shorter ? runs : bitmap);
    return true;
  }
  *out = FilledRuns(ports, room, accept_bytes);
  PortTestCode widened;
  if (WidenedBitmap(words, room, accept_bytes, &widened) &&
      widened.passed_ports < out->passed_ports)
    *out = std::move(widened);
  return false;
}

}  // namespace

bool FilterViewOfLinkType(int link_type, FilterView* view) {
  switch (link_type) {
    case DLT_EN10MB:
      *view = FilterView::kEthernet;
      return true;
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
      *view = FilterView::kNetwork;
      return true;
    case DLT_RAW:
    case kLinktypeRaw:
    case DLT_IPV4:
    case DLT_IPV6:
      *view = FilterView::kRawIp;
      return true;
    default:
      return false;
  }
}

PortFilterProgram BuildPortFilterProgram(const PortFilterSpec& spec,
                                         FilterView view,
                                         uint32_t accept_bytes) {
  PortFilterProgram program;
  std::vector<sock_filter> header;
  if (!BuildHeader(view, spec, &header)) return program;
  PortTestCode test;
  program.exact = ChoosePortTest(spec.ports, BPF_MAXINSNS - header.size(),
                                 accept_bytes, &test);
  program.test = test.test;
  program.passed_ports = test.passed_ports;
  program.code = std::move(header);
  Append(&program.code, test.code);
  return program;
}

PortFilterSpec UnionOf(const PortFilterSpec& a, const PortFilterSpec& b) {
  PortFilterSpec out;
  out.tcp = a.tcp || b.tcp;
  out.udp = a.udp || b.udp;
  std::set_union(a.ports.begin(), a.ports.end(), b.ports.begin(), b.ports.end(),
                 std::back_inserter(out.ports));
  return out;
}

}  // namespace knock
