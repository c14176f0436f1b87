// PacketSource over libpcap: live interfaces and capture files.
#include <pcap/pcap.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "knockd/sniffer/packet_decoder.h"
#include "knockd/sniffer/packet_source.h"

namespace knock {
namespace {

// Headers only: Ethernet, two VLAN tags, IPv6 with a few extension headers
// and a TCP header with options all fit.
constexpr int kSnaplenBytes = 256;
constexpr int kBufferBytes = 4 << 20;
// A file delivers this many frames per Dispatch, so that a daemon replaying
// a large file still returns to its loop now and then.
constexpr int kFileBatchFrames = 4096;
constexpr int64_t kMicrosPerSecond = 1000000;

/// One pcap handle and the name its errors quote.
struct PcapHandle {
  pcap_t* pcap = nullptr;
  std::string name;
  int link_type = 0;
  /// The kernel could not be told to skip outgoing frames, so the filter
  /// tests the direction itself.
  bool inbound_in_filter = false;
};

// How far ahead of the frame being matched the capture ring is prefetched,
// in frames, and the largest step between two frames taken for the ring's
// frame size (a live ring's frames are a few hundred bytes apart).
constexpr uintptr_t kRingPrefetchFrames = 3;
constexpr intptr_t kMaxRingStrideBytes = 4096;
constexpr uintptr_t kCacheLineBytes = 64;

/// What the pcap callback needs to turn a pcap record into a Frame.
struct DispatchContext {
  const PacketSource::FrameHandler* handler;
  int link_type;
  uint64_t frames;
  /// The previous frame's bytes: their distance is the ring's frame size.
  const u_char* previous = nullptr;
};

// The kernel writes each frame into the capture ring from the core that
// received it, so every frame's header and first bytes miss this core's
// cache, and the decoder used to wait for each in turn (about a fifth of
// a flood frame's cost on a two-core machine). A live ring holds frames at
// a fixed distance, so the frames a few ahead are asked for now. Only
// hints: a wrong guess (the ring's end, a file's buffer) costs a line and
// never faults.
void PrefetchRingAhead(DispatchContext* context, const u_char* bytes) {
  // Addresses as integers: the guess may lie outside the ring.
  const auto at = reinterpret_cast<uintptr_t>(bytes);
  const auto stride = static_cast<intptr_t>(
      at - reinterpret_cast<uintptr_t>(context->previous));
  context->previous = bytes;
  if (stride <= 0 || stride > kMaxRingStrideBytes) return;
  const uintptr_t ahead = at + kRingPrefetchFrames * stride;
  // The ring's frame header sits just before the bytes.
  for (const uintptr_t line :
       {ahead - kCacheLineBytes, ahead, ahead + kCacheLineBytes - 1})
    __builtin_prefetch(reinterpret_cast<const void*>(line));
}

void OnPacket(u_char* user, const pcap_pkthdr* header, const u_char* bytes) {
  auto* context = reinterpret_cast<DispatchContext*>(user);
  Frame frame;
  frame.link_type = context->link_type;
  frame.data = bytes;
  frame.length = header->caplen;
  frame.time_us =
      int64_t{header->ts.tv_sec} * kMicrosPerSecond + header->ts.tv_usec;
  ++context->frames;
  PrefetchRingAhead(context, bytes);
  (*context->handler)(frame);
}

/// Live interfaces or one file, behind the PacketSource seam.
class PcapPacketSource : public PacketSource {
 public:
  explicit PcapPacketSource(bool is_file) : is_file_(is_file) {}
  ~PcapPacketSource() override {
    for (PcapHandle& handle : handles_) pcap_close(handle.pcap);
  }

  /// Takes ownership of `pcap`; the pointer returned is valid until the next
  /// Add.
  PcapHandle* Add(pcap_t* pcap, const std::string& name) {
    handles_.push_back({pcap, name, pcap_datalink(pcap)});
    return &handles_.back();
  }

  std::vector<int> PollFds() const override {
    std::vector<int> fds;
    if (is_file_) return fds;
    for (const PcapHandle& handle : handles_) {
      fds.push_back(pcap_get_selectable_fd(handle.pcap));
    }
    return fds;
  }

  bool DispatchAtMost(const FrameHandler& handler,
                      uint32_t max_frames_per_capture, bool* cut,
                      std::string* err) override {
    *cut = false;
    // -1: libpcap reads the ring until it finds it empty, frames that
    // arrive meanwhile included, so under a flood faster than matching it
    // might never return.
    int bound = -1;
    if (is_file_) {
      bound = kFileBatchFrames;
    } else if (max_frames_per_capture != 0) {
      bound = static_cast<int>(
          std::min<uint32_t>(max_frames_per_capture, INT32_MAX));
    }
    for (PcapHandle& handle : handles_) {
      DispatchContext context{&handler, handle.link_type, 0};
      const int count = pcap_dispatch(handle.pcap, bound, OnPacket,
                                      reinterpret_cast<u_char*>(&context));
      frames_ += context.frames;
      if (!is_file_ && bound > 0 && count >= bound) *cut = true;
      if (count == PCAP_ERROR) {
        *err = "capture on \"" + handle.name +
               "\" failed: " + pcap_geterr(handle.pcap);
        return false;
      }
      if (is_file_ && count == 0) {
        err->clear();
        return false;
      }
    }
    return true;
  }

  bool SetPortFilter(const PortFilterSpec& spec, std::string* err) override {
    if (is_file_) return true;
    for (const PcapHandle& handle : handles_) {
      FilterView view;
      // Other link types keep the range filter libpcap compiled.
      if (!FilterViewOfLinkType(handle.link_type, &view)) continue;
      const PortFilterProgram program =
          BuildPortFilterProgram(spec, view, kSnaplenBytes);
      if (program.code.empty()) {
        *err = "cannot build the port filter for \"" + handle.name + "\"";
        return false;
      }
      sock_fprog fprog{static_cast<unsigned short>(program.code.size()),
                       const_cast<sock_filter*>(program.code.data())};
      // The kernel swaps the program in one step: no frame meets neither
      // filter. (pcap_setfilter would first attach a reject-all filter and
      // drain the socket, losing what arrives in between.)
      if (setsockopt(pcap_fileno(handle.pcap), SOL_SOCKET, SO_ATTACH_FILTER,
                     &fprog, sizeof fprog) != 0) {
        *err = "cannot install the port filter on \"" + handle.name +
               "\": " + strerror(errno);
        return false;
      }
    }
    return true;
  }

  CaptureStats Stats() const override {
    CaptureStats stats;
    if (is_file_) {
      // pcap_stats() does not work on files; every frame read counts.
      stats.received = frames_;
      return stats;
    }
    for (const PcapHandle& handle : handles_) {
      pcap_stat counters = {};
      if (pcap_stats(handle.pcap, &counters) != 0) continue;
      stats.received += counters.ps_recv;
      stats.dropped_by_kernel +=
          uint64_t{counters.ps_drop} + counters.ps_ifdrop;
    }
    return stats;
  }

 private:
  bool is_file_;
  uint64_t frames_ = 0;
  std::vector<PcapHandle> handles_;
};

std::string Quote(const std::string& text) { return "\"" + text + "\""; }

bool ApplyFilter(const PcapHandle& handle, const KnockSettings& knock,
                 std::string* err) {
  std::string expression = KnockFilterExpression(knock, handle.link_type);
  if (handle.inbound_in_filter) expression = "inbound and (" + expression + ")";
  bpf_program program;
  if (pcap_compile(handle.pcap, &program, expression.c_str(), 1,
                   PCAP_NETMASK_UNKNOWN) != 0) {
    *err = (handle.inbound_in_filter
                ? "cannot capture only inbound frames on " + Quote(handle.name)
                : "cannot compile the knock filter for " + Quote(handle.name)) +
           ": " + pcap_geterr(handle.pcap);
    return false;
  }
  const int status = pcap_setfilter(handle.pcap, &program);
  pcap_freecode(&program);
  if (status != 0) {
    *err = "cannot install the knock filter on " + Quote(handle.name) + ": " +
           pcap_geterr(handle.pcap);
    return false;
  }
  return true;
}

bool CheckLinkType(const PcapHandle& handle, std::string* err) {
  if (IsDecodableLinkType(handle.link_type)) return true;
  const char* name = pcap_datalink_val_to_name(handle.link_type);
  *err = "cannot decode link type " +
         (name ? std::string(name) : std::to_string(handle.link_type)) +
         " of " + Quote(handle.name);
  return false;
}

// Cooked v2 carries the interface index and the real ethertype where v1
// has only the ethertype; libpcap still defaults "any" to v1.
void PreferCookedV2(pcap_t* pcap) {
  int* links = nullptr;
  const int count = pcap_list_datalinks(pcap, &links);
  for (int i = 0; i < count; ++i) {
    if (links[i] == DLT_LINUX_SLL2) {
      pcap_set_datalink(pcap, DLT_LINUX_SLL2);
      break;
    }
  }
  if (count >= 0) pcap_free_datalinks(links);
}

// pcap_activate reports some failures only as a status, others with text.
std::string ActivateError(pcap_t* pcap, int status) {
  const std::string text = pcap_geterr(pcap);
  return text.empty() ? pcap_statustostr(status) : text;
}

bool ActivateLive(PcapHandle* handle, std::string* err) {
  pcap_t* pcap = handle->pcap;
  if (pcap_set_snaplen(pcap, kSnaplenBytes) != 0 ||
      pcap_set_promisc(pcap, 0) != 0 || pcap_set_immediate_mode(pcap, 1) != 0 ||
      pcap_set_buffer_size(pcap, kBufferBytes) != 0) {
    *err = "cannot configure capture on " + Quote(handle->name);
    return false;
  }
  const int status = pcap_activate(pcap);
  if (status < 0) {
    *err = "cannot capture on " + Quote(handle->name) + ": " +
           ActivateError(pcap, status);
    return false;
  }
  if (handle->name == "any") PreferCookedV2(pcap);
  handle->link_type = pcap_datalink(pcap);
  // The host's own connections out (a SYN to a port in the knock range of
  // some other machine) are not knocks. On Linux libpcap skips outgoing
  // frames for every link type, "any" included; where it cannot, the BPF
  // `inbound` test (the packet type the kernel hands the filter) does it.
  handle->inbound_in_filter = pcap_setdirection(pcap, PCAP_D_IN) != 0;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  if (pcap_setnonblock(pcap, 1, errbuf) != 0) {
    *err = "cannot make capture on " + Quote(handle->name) +
           " non-blocking: " + errbuf;
    return false;
  }
  return true;
}

std::string PortRangeText(const PortRange& range) {
  return std::to_string(range.first) + "-" + std::to_string(range.last);
}

// IPv6 behind extension headers, conservatively: the first next-header is
// one the decoder walks, and the one after it is either `transports` or
// another such header. Neither port nor flags can be read at a fixed
// offset there; libpcap's `protochain` could, but it compiles to backward
// jumps, which the kernel refuses (libpcap then filters in user space).
std::string ExtensionHeaderTerm(const std::vector<int>& transports) {
  static const int kWalked[] = {0, 43, 51, 60};  // hop-by-hop, routing, AH,
                                                 // destination options
  std::string first, second;
  for (int type : kWalked) {
    const std::string number = std::to_string(type);
    first += (first.empty() ? "" : " or ") + std::string("ip6[6] == ") + number;
    second += " or ip6[40] == " + number;
  }
  std::string next;
  for (int transport : transports) {
    next += (next.empty() ? "" : " or ") + std::string("ip6[40] == ") +
            std::to_string(transport);
  }
  return "(ip6 and (" + first + ") and (" + next + second + "))";
}

}  // namespace

std::string KnockFilterExpression(const KnockSettings& knock) {
  const std::string range = PortRangeText(knock.ports);
  std::vector<std::string> terms;
  std::vector<int> transports;
  if (knock.protocol != KnockProtocol::kUdp) {
    // tcp[] indexes from an IPv4 header only, so IPv6 reads the flags at a
    // fixed offset, which holds when TCP follows the IPv6 header directly.
    terms.push_back("(ip and tcp dst portrange " + range +
                    " and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn)");
    terms.push_back("(ip6 and tcp dst portrange " + range +
                    " and ip6[53] & 0x12 == 0x02)");
    transports.push_back(6);
  }
  if (knock.protocol != KnockProtocol::kTcp) {
    terms.push_back("(udp dst portrange " + range + ")");
    transports.push_back(17);
  }
  terms.push_back(ExtensionHeaderTerm(transports));
  std::string expression;
  for (const std::string& term : terms) {
    if (!expression.empty()) expression += " or ";
    expression += term;
  }
  return expression;
}

std::string KnockFilterExpression(const KnockSettings& knock, int link_type) {
  const std::string plain = KnockFilterExpression(knock);
  if (link_type != DLT_EN10MB) return plain;
  // Each `vlan` moves the offsets of everything after it by one tag, so
  // the double-tagged case nests inside the single-tagged one. (Linux
  // mostly strips tags before the filter runs; then `plain` matches.)
  return plain + " or (vlan and (" + plain + " or (vlan and (" + plain + "))))";
}

bool OpenLiveSource(const std::vector<std::string>& interfaces,
                    const KnockSettings& knock,
                    std::unique_ptr<PacketSource>* out, std::string* err) {
  if (interfaces.empty()) {
    *err = "no interfaces to capture on";
    return false;
  }
  auto source = std::make_unique<PcapPacketSource>(/*is_file=*/false);
  for (const std::string& name : interfaces) {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* pcap = pcap_create(name.c_str(), errbuf);
    if (pcap == nullptr) {
      *err = "cannot capture on " + Quote(name) + ": " + errbuf;
      return false;
    }
    PcapHandle* handle = source->Add(pcap, name);
    if (!ActivateLive(handle, err) || !CheckLinkType(*handle, err) ||
        !ApplyFilter(*handle, knock, err)) {
      return false;
    }
  }
  *out = std::move(source);
  return true;
}

bool OpenFileSource(const std::string& path, const KnockSettings& knock,
                    std::unique_ptr<PacketSource>* out, std::string* err) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Nanosecond files are scaled down by libpcap; Frame carries microseconds.
  pcap_t* pcap = pcap_open_offline_with_tstamp_precision(
      path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  if (pcap == nullptr) {
    *err = "cannot read " + Quote(path) + ": " + errbuf;
    return false;
  }
  auto source = std::make_unique<PcapPacketSource>(/*is_file=*/true);
  const PcapHandle* handle = source->Add(pcap, path);
  if (!CheckLinkType(*handle, err) || !ApplyFilter(*handle, knock, err)) {
    return false;
  }
  *out = std::move(source);
  return true;
}

}  // namespace knock
