#pragma once
// The frames the flooders (tests/tools/knock_flood, tests/tools/flood_knocks,
// bench/syn_flood) put on a link through AF_PACKET: a knock client's TCP SYN
// or UDP datagram, built with pcap_writer's packet builder (the one place
// that computes checksums), addressed to and from the link's MAC addresses.

#include <pcap/dlt.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/ip_address.h"
#include "common/transport.h"
#include "knockd/sniffer/pcap_writer.h"

namespace knock {

inline constexpr size_t kMacBytes = 6;

/// The Ethernet addresses of a flooder's frames: where they go (the
/// server's side of the link) and where they claim to come from.
struct FrameMacs {
  uint8_t dst[kMacBytes] = {};
  uint8_t src[kMacBytes] = {};
};

/// Reads "aa:bb:cc:dd:ee:ff" into `mac`; false when it is not six hex bytes.
inline bool ParseMac(const std::string& text, uint8_t mac[kMacBytes]) {
  unsigned parts[kMacBytes];
  char extra = 0;
  if (sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &parts[0], &parts[1],
             &parts[2], &parts[3], &parts[4], &parts[5], &extra) != 6)
    return false;
  for (size_t i = 0; i < kMacBytes; ++i) {
    if (parts[i] > 0xff) return false;
    mac[i] = static_cast<uint8_t>(parts[i]);
  }
  return true;
}

/// An Ethernet frame with a TCP SYN (or an empty UDP datagram) from
/// `src`:`sport` to `dst`:`dport`, IPv4 or IPv6 by the family of `src`,
/// with correct IP, TCP and UDP checksums.
inline std::vector<uint8_t> BuildFloodFrame(const FrameMacs& macs,
                                            Transport transport,
                                            const IpAddress& src,
                                            const IpAddress& dst,
                                            uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> frame =
      transport == Transport::kTcp
          ? BuildTcpSynFrame(src, dst, sport, dport, DLT_EN10MB)
          : BuildUdpFrame(src, dst, sport, dport, DLT_EN10MB);
  std::memcpy(frame.data(), macs.dst, kMacBytes);
  std::memcpy(frame.data() + kMacBytes, macs.src, kMacBytes);
  return frame;
}

/// An Ethernet/IPv4/UDP frame from `src` carrying `payload` (a captured
/// single-packet-authorization message, replayed); the UDP checksum is 0,
/// "none", which IPv4 allows.
inline std::vector<uint8_t> BuildUdpPayloadFrameV4(
    const FrameMacs& macs, const IpAddress& src, const IpAddress& dst,
    uint16_t sport, uint16_t dport, const std::string& payload) {
  constexpr size_t kEthernetBytes = 14, kIpv4Bytes = 20, kUdpBytes = 8;
  const size_t ip_bytes = kIpv4Bytes + kUdpBytes + payload.size();
  std::vector<uint8_t> frame(kEthernetBytes + ip_bytes, 0);
  std::memcpy(frame.data(), macs.dst, kMacBytes);
  std::memcpy(frame.data() + kMacBytes, macs.src, kMacBytes);
  frame[12] = 0x08;  // IPv4
  uint8_t* ip = frame.data() + kEthernetBytes;
  ip[0] = 0x45;
  ip[2] = static_cast<uint8_t>(ip_bytes >> 8);
  ip[3] = static_cast<uint8_t>(ip_bytes);
  ip[8] = 64;  // TTL
  ip[9] = 17;  // UDP
  std::memcpy(ip + 12, src.bytes.data(), 4);
  std::memcpy(ip + 16, dst.bytes.data(), 4);
  uint32_t sum = 0;
  for (size_t i = 0; i < kIpv4Bytes; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = static_cast<uint8_t>(~sum >> 8);
  ip[11] = static_cast<uint8_t>(~sum);
  uint8_t* udp = ip + kIpv4Bytes;
  const size_t udp_bytes = kUdpBytes + payload.size();
  udp[0] = static_cast<uint8_t>(sport >> 8);
  udp[1] = static_cast<uint8_t>(sport);
  udp[2] = static_cast<uint8_t>(dport >> 8);
  udp[3] = static_cast<uint8_t>(dport);
  udp[4] = static_cast<uint8_t>(udp_bytes >> 8);
  udp[5] = static_cast<uint8_t>(udp_bytes);
  std::memcpy(udp + kUdpBytes, payload.data(), payload.size());
  return frame;
}

/// An IPv4 address from its host-order 32-bit value (198.19.0.1 is
/// 0xC6130001): the flooders count their spoofed sources that way.
inline IpAddress Ipv4FromHostOrder(uint32_t address) {
  const uint8_t bytes[4] = {
      static_cast<uint8_t>(address >> 24), static_cast<uint8_t>(address >> 16),
      static_cast<uint8_t>(address >> 8), static_cast<uint8_t>(address)};
  return IpAddress::V4(bytes);
}

}  // namespace knock
