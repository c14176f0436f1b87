#pragma once
// The capture's kernel filter, built from the exact ports the held windows
// can use, so that a flood to the rest of the knock range never leaves the
// kernel. A pure function from a port set to classic BPF instructions.

#include <linux/filter.h>

#include <cstdint>
#include <vector>

namespace knock {

/// What the filter passes: TCP SYN (no ACK, RST or FIN) and/or UDP to
/// `ports` (sorted, unique).
struct PortFilterSpec {
  bool tcp = false;
  bool udp = false;
  std::vector<uint16_t> ports;
  bool operator==(const PortFilterSpec& other) const = default;
};

/// Where the packet starts when the kernel runs a packet socket's filter,
/// which is not always where the pcap record starts.
enum class FilterView {
  /// An Ethernet header (DLT_EN10MB; SOCK_RAW): the ethertype at 12, VLAN
  /// tags the kernel did not strip in the data.
  kEthernet,
  /// The network header (cooked DLT_LINUX_SLL/SLL2; SOCK_DGRAM): libpcap
  /// builds the cooked header in user space, the ethertype is the
  /// skb's protocol (an ancillary load).
  kNetwork,
  /// The IP header (DLT_RAW and friends): the version nibble says which.
  kRawIp,
};

/// The view the kernel gives a live capture of `link_type` (a DLT_*
/// value); false where the exact filter is not built (the range filter
/// libpcap compiled stays).
bool FilterViewOfLinkType(int link_type, FilterView* view);

/// How a program tests the destination port once the header has read it.
enum class PortTest {
  /// A comparison tree over the runs of ports: short for a few ports.
  kRuns,
  /// A comparison tree over 32-port words of a bitmap, each mixed word
  /// tested bit by bit: exact for any set of a range up to about 32,768
  /// ports.
  kBitmap,
};

/// The instructions and what they pass.
struct PortFilterProgram {
  std::vector<sock_filter> code;
  PortTest test = PortTest::kRuns;
  /// False when the exact set did not fit BPF_MAXINSNS: either the bitmap
  /// passes every port of its densest mixed words (kBitmap), or the smallest
  /// gaps between the runs are filled in (kRuns), whichever passes fewer
  /// ports no window uses.
  bool exact = true;
  /// How many ports the program passes (the spec's, plus those widened).
  uint32_t passed_ports = 0;
};

/// The program passing `spec` in `view`, at most BPF_MAXINSNS long. It
/// drops frames the kernel marks as outgoing (the host's own connections
/// are not knocks), IPv4 fragments, IPv6 behind more extension headers
/// than the decoder walks, and anything cut short; an accepted frame is
/// kept to `accept_bytes`.
PortFilterProgram BuildPortFilterProgram(const PortFilterSpec& spec,
                                         FilterView view,
                                         uint32_t accept_bytes);

/// What passes either: used while a reload may still be refused.
PortFilterSpec UnionOf(const PortFilterSpec& a, const PortFilterSpec& b);

}  // namespace knock
