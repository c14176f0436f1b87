#pragma once
// Turns hostile frames into knocks. Every byte is bounds-checked; anything
// malformed or uninteresting is counted and dropped, never trusted.

#include <cstdint>
#include <string>

#include "knockd/sniffer/knock_event.h"
#include "knockd/sniffer/packet_source.h"

namespace knock {

/// Why a frame produced no knock; counted per reason.
enum class DropReason : uint8_t {
  kTruncated,        // a header runs past the captured bytes
  kBadHeader,        // a version, length or field that cannot be right
  kUnsupportedLink,  // a link type or ethertype we do not read
  kFragment,         // an IP fragment (first or later)
  kNotKnock,         // TCP without SYN, SYN+ACK, other protocols
  kOutOfRange,       // destination port outside the knock range
  kOutgoing,         // a cooked frame this host sent (its own SYNs)
  kCount
};

const char* DropReasonName(DropReason reason);

/// True for the pcap DLT_* values PacketDecoder reads; a capture on any other
/// link type would decode nothing.
bool IsDecodableLinkType(int link_type);

/// Counters of a decoder's verdicts.
struct DecodeStats {
  uint64_t knocks = 0;
  uint64_t dropped[static_cast<int>(DropReason::kCount)] = {};
};

/// Decodes Ethernet (with up to two VLAN tags), Linux cooked v1 and v2, raw
/// IP and BSD loopback frames carrying IPv4 or IPv6 (extension headers
/// walked) with TCP SYN (no ACK) or UDP to the knock range.
class PacketDecoder {
 public:
  explicit PacketDecoder(const KnockSettings& knock);
  /// True and `*out` filled for a knock; false and a reason counted otherwise
  /// (`*out` is then left as it was).
  bool Decode(const Frame& frame, Knock* out);
  const DecodeStats& stats() const { return stats_; }

 private:
  bool Drop(DropReason reason);
  bool DecodeEthertype(uint16_t ethertype, const uint8_t* data, uint32_t length,
                       int64_t time_us, Knock* out);
  bool DecodeLoopback(const uint8_t* data, uint32_t length, int64_t time_us,
                      Knock* out);
  bool DecodeIp(const uint8_t* data, uint32_t length, int64_t time_us,
                Knock* out);
  bool DecodeV4(const uint8_t* data, uint32_t length, Knock* out);
  bool DecodeV6(const uint8_t* data, uint32_t length, Knock* out);
  bool DecodeTransport(uint8_t protocol, const uint8_t* data, uint32_t length,
                       Knock* out);

  PortRange range_;
  bool accept_tcp_;
  bool accept_udp_;
  DecodeStats stats_;
};

}  // namespace knock
