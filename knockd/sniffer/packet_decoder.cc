#include "knockd/sniffer/packet_decoder.h"

#include <pcap/dlt.h>

namespace knock {
namespace {

// LINKTYPE_RAW as stored in pcap files; libpcap maps it to DLT_RAW, but a
// frame handed over by other code may still carry the file's value.
constexpr int kLinktypeRaw = 101;

constexpr uint32_t kEthernetHeaderBytes = 14;
constexpr uint32_t kVlanTagBytes = 4;
constexpr int kMaxVlanTags = 2;
constexpr uint32_t kSllHeaderBytes = 16;
constexpr uint32_t kSllProtocolOffset = 14;
constexpr uint32_t kSll2HeaderBytes = 20;
// Where cooked headers keep the kernel's packet type, and the type of a
// frame the host sent itself (PACKET_OUTGOING).
constexpr uint32_t kSllPacketTypeOffset = 0;
constexpr uint32_t kSll2PacketTypeOffset = 10;
constexpr uint16_t kPacketOutgoing = 4;
constexpr uint32_t kLoopbackHeaderBytes = 4;
constexpr uint32_t kIpv4MinHeaderBytes = 20;
constexpr uint32_t kIpv6HeaderBytes = 40;
constexpr uint32_t kTcpMinHeaderBytes = 20;
constexpr uint32_t kUdpHeaderBytes = 8;
// Real packets carry two or three extension headers at most; a longer
// chain is an attempt to make us loop.
constexpr int kMaxIpv6ExtensionHeaders = 8;

constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint16_t kEthertypeIpv6 = 0x86dd;
constexpr uint16_t kEthertypeVlan = 0x8100;
constexpr uint16_t kEthertypeQinQ = 0x88a8;

constexpr uint8_t kProtoHopByHop = 0;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoEsp = 50;
constexpr uint8_t kProtoAh = 51;
constexpr uint8_t kProtoNoNext = 59;
constexpr uint8_t kProtoDestOptions = 60;

constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpRst = 0x04;
constexpr uint8_t kTcpAck = 0x10;

// BSD address families as they appear in DLT_NULL / DLT_LOOP headers: IPv6
// differs between the BSDs (10 is Linux, 24 NetBSD/OpenBSD, 28 FreeBSD,
// 30 Darwin) and captures travel between systems.
constexpr uint32_t kBsdAfInet = 2;

uint16_t Load16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

uint32_t Load32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
         p[3];
}

bool IsBsdAfInet6(uint32_t family) {
  return family == 10 || family == 24 || family == 28 || family == 30;
}

// A knock grants its source address, so the source must be a host that can
// receive the grant: "this network" 0/8, loopback 127/8 (never legitimate
// from a wire), multicast 224/4 and the reserved 240/4 that holds broadcast.
bool IsUnicastV4(const uint8_t* address) {
  const uint8_t first = address[0];
  return first != 0 && first != 127 && first < 224;
}

// The same for IPv6: the unspecified address ::, loopback ::1 and
// multicast ff00::/8. IPv4-mapped sources are kept as IPv6 addresses and
// get no special treatment: the firewall matches them as they came.
bool IsUnicastV6(const uint8_t* address) {
  if (address[0] == 0xff) return false;
  for (int i = 0; i < 15; ++i) {
    if (address[i] != 0) return true;
  }
  return address[15] > 1;
}

}  // namespace

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kTruncated:
      return "truncated";
    case DropReason::kBadHeader:
      return "bad_header";
    case DropReason::kUnsupportedLink:
      return "unsupported_link";
    case DropReason::kFragment:
      return "fragment";
    case DropReason::kNotKnock:
      return "not_knock";
    case DropReason::kOutOfRange:
      return "out_of_range";
    case DropReason::kOutgoing:
      return "outgoing";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

bool IsDecodableLinkType(int link_type) {
  switch (link_type) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case kLinktypeRaw:
    case DLT_IPV4:
    case DLT_IPV6:
    case DLT_NULL:
    case DLT_LOOP:
      return true;
    default:
      return false;
  }
}

PacketDecoder::PacketDecoder(const KnockSettings& knock)
    : range_(knock.ports),
      accept_tcp_(knock.protocol != KnockProtocol::kUdp),
      accept_udp_(knock.protocol != KnockProtocol::kTcp) {}

bool PacketDecoder::Drop(DropReason reason) {
  ++stats_.dropped[static_cast<int>(reason)];
  return false;
}

bool PacketDecoder::Decode(const Frame& frame, Knock* out) {
  const uint8_t* data = frame.data;
  const uint32_t length = data == nullptr ? 0 : frame.length;
  switch (frame.link_type) {
    case DLT_EN10MB:
      if (length < kEthernetHeaderBytes) return Drop(DropReason::kTruncated);
      return DecodeEthertype(Load16(data + 12), data + kEthernetHeaderBytes,
                             length - kEthernetHeaderBytes, frame.time_us, out);
    case DLT_LINUX_SLL:
      if (length < kSllHeaderBytes) return Drop(DropReason::kTruncated);
      // Live capture asks for inbound frames only; a file made with
      // `tcpdump -i any` still holds the host's own connections out.
      if (Load16(data + kSllPacketTypeOffset) == kPacketOutgoing)
        return Drop(DropReason::kOutgoing);
      return DecodeEthertype(Load16(data + kSllProtocolOffset),
                             data + kSllHeaderBytes, length - kSllHeaderBytes,
                             frame.time_us, out);
    case DLT_LINUX_SLL2:
      if (length < kSll2HeaderBytes) return Drop(DropReason::kTruncated);
      if (data[kSll2PacketTypeOffset] == kPacketOutgoing)
        return Drop(DropReason::kOutgoing);
      return DecodeEthertype(Load16(data), data + kSll2HeaderBytes,
                             length - kSll2HeaderBytes, frame.time_us, out);
    case DLT_RAW:
    case kLinktypeRaw:
    case DLT_IPV4:
    case DLT_IPV6:
      return DecodeIp(data, length, frame.time_us, out);
    case DLT_NULL:
    case DLT_LOOP:
      return DecodeLoopback(data, length, frame.time_us, out);
    default:
      return Drop(DropReason::kUnsupportedLink);
  }
}

// Cooked captures put VLAN tags back in front of the payload the same way
// Ethernet carries them, so all three link types share this walk.
bool PacketDecoder::DecodeEthertype(uint16_t ethertype, const uint8_t* data,
                                    uint32_t length, int64_t time_us,
                                    Knock* out) {
  for (int tags = 0; ethertype == kEthertypeVlan || ethertype == kEthertypeQinQ;
       ++tags) {
    if (tags == kMaxVlanTags) return Drop(DropReason::kUnsupportedLink);
    if (length < kVlanTagBytes) return Drop(DropReason::kTruncated);
    ethertype = Load16(data + 2);
    data += kVlanTagBytes;
    length -= kVlanTagBytes;
  }
  if (ethertype != kEthertypeIpv4 && ethertype != kEthertypeIpv6) {
    return Drop(DropReason::kUnsupportedLink);
  }
  // The version nibble must agree with the ethertype; DecodeIp reads it.
  if (length > 0 && (data[0] >> 4) != (ethertype == kEthertypeIpv4 ? 4 : 6)) {
    return Drop(DropReason::kBadHeader);
  }
  return DecodeIp(data, length, time_us, out);
}

// The family is in the capturing host's byte order for DLT_NULL and in
// network order for DLT_LOOP; files move between hosts, so both orders are
// accepted for both. Family values are small, so the two cannot be confused.
bool PacketDecoder::DecodeLoopback(const uint8_t* data, uint32_t length,
                                   int64_t time_us, Knock* out) {
  if (length < kLoopbackHeaderBytes) return Drop(DropReason::kTruncated);
  uint32_t family = Load32(data);
  if ((family & 0xffff) == 0) family = __builtin_bswap32(family);
  int version = 0;
  if (family == kBsdAfInet) {
    version = 4;
  } else if (IsBsdAfInet6(family)) {
    version = 6;
  } else {
    return Drop(DropReason::kUnsupportedLink);
  }
  data += kLoopbackHeaderBytes;
  length -= kLoopbackHeaderBytes;
  if (length > 0 && (data[0] >> 4) != version) {
    return Drop(DropReason::kBadHeader);
  }
  return DecodeIp(data, length, time_us, out);
}

bool PacketDecoder::DecodeIp(const uint8_t* data, uint32_t length,
                             int64_t time_us, Knock* out) {
  if (length == 0) return Drop(DropReason::kTruncated);
  bool knock = false;
  switch (data[0] >> 4) {
    case 4:
      knock = DecodeV4(data, length, out);
      break;
    case 6:
      knock = DecodeV6(data, length, out);
      break;
    default:
      return Drop(DropReason::kBadHeader);
  }
  if (!knock) return false;
  out->time_us = time_us;
  ++stats_.knocks;
  return true;
}

bool PacketDecoder::DecodeV4(const uint8_t* data, uint32_t length, Knock* out) {
  if (length < kIpv4MinHeaderBytes) return Drop(DropReason::kTruncated);
  const uint32_t header_bytes = uint32_t{data[0] & 0x0fu} * 4;
  if (header_bytes < kIpv4MinHeaderBytes) return Drop(DropReason::kBadHeader);
  if (header_bytes > length) return Drop(DropReason::kTruncated);
  const uint32_t total_bytes = Load16(data + 2);
  if (total_bytes < header_bytes) return Drop(DropReason::kBadHeader);
  // Ethernet pads short frames, so the IP length bounds the packet; a
  // snapshot shorter than the IP length bounds it the other way.
  const uint32_t packet_bytes = total_bytes < length ? total_bytes : length;
  // More-fragments set, or a non-zero offset: any fragment, first or later.
  if ((Load16(data + 6) & 0x3fff) != 0) return Drop(DropReason::kFragment);
  const uint8_t* source = data + 12;
  if (!IsUnicastV4(source)) return Drop(DropReason::kBadHeader);
  if (!DecodeTransport(data[9], data + header_bytes,
                       packet_bytes - header_bytes, out)) {
    return false;
  }
  out->source = IpAddress::V4(source);
  return true;
}

bool PacketDecoder::DecodeV6(const uint8_t* data, uint32_t length, Knock* out) {
  if (length < kIpv6HeaderBytes) return Drop(DropReason::kTruncated);
  const uint32_t total_bytes = kIpv6HeaderBytes + Load16(data + 4);
  const uint32_t packet_bytes = total_bytes < length ? total_bytes : length;
  const uint8_t* source = data + 8;
  if (!IsUnicastV6(source)) return Drop(DropReason::kBadHeader);
  uint8_t next = data[6];
  uint32_t offset = kIpv6HeaderBytes;
  for (int headers = 0;; ++headers) {
    if (next != kProtoHopByHop && next != kProtoRouting &&
        next != kProtoDestOptions && next != kProtoAh) {
      break;
    }
    if (headers == kMaxIpv6ExtensionHeaders) {
      return Drop(DropReason::kBadHeader);
    }
    if (packet_bytes - offset < 2) return Drop(DropReason::kTruncated);
    // AH counts its length in 4-byte units minus 2; the others in 8-byte
    // units not counting the first 8.
    const uint32_t header_bytes = next == kProtoAh
                                      ? (uint32_t{data[offset + 1]} + 2) * 4
                                      : (uint32_t{data[offset + 1]} + 1) * 8;
    if (packet_bytes - offset < header_bytes) {
      return Drop(DropReason::kTruncated);
    }
    next = data[offset];
    offset += header_bytes;
  }
  if (next == kProtoFragment) return Drop(DropReason::kFragment);
  if (next == kProtoEsp || next == kProtoNoNext) {
    return Drop(DropReason::kNotKnock);
  }
  if (!DecodeTransport(next, data + offset, packet_bytes - offset, out)) {
    return false;
  }
  out->source = IpAddress::V6(source);
  return true;
}

// A knock is what connect() sends: SYN without ACK. SYN together with RST or
// FIN is never sent by a real stack (only by scanners fingerprinting us),
// so it is not a knock either. ECE/CWR (ECN setup), PSH and URG are allowed.
bool PacketDecoder::DecodeTransport(uint8_t protocol, const uint8_t* data,
                                    uint32_t length, Knock* out) {
  uint16_t port = 0;
  Transport transport = Transport::kTcp;
  if (protocol == kProtoTcp && accept_tcp_) {
    if (length < kTcpMinHeaderBytes) return Drop(DropReason::kTruncated);
    const uint32_t header_bytes = (uint32_t{data[12]} >> 4) * 4;
    if (header_bytes < kTcpMinHeaderBytes) return Drop(DropReason::kBadHeader);
    if (header_bytes > length) return Drop(DropReason::kTruncated);
    const uint8_t flags = data[13];
    if ((flags & (kTcpSyn | kTcpAck | kTcpRst | kTcpFin)) != kTcpSyn) {
      return Drop(DropReason::kNotKnock);
    }
    port = Load16(data + 2);
  } else if (protocol == kProtoUdp && accept_udp_) {
    if (length < kUdpHeaderBytes) return Drop(DropReason::kTruncated);
    port = Load16(data + 2);
    transport = Transport::kUdp;
  } else {
    return Drop(DropReason::kNotKnock);
  }
  if (!range_.Contains(port)) return Drop(DropReason::kOutOfRange);
  out->port = port;
  out->transport = transport;
  return true;
}

}  // namespace knock
