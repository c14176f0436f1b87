#pragma once
// Writes classic pcap files and builds knock frames: the test and benchmark
// side of capture, so that the daemon's replay path can be fed millions of
// frames without a network.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/ip_address.h"

namespace knock {

/// TCP flag bits for BuildTcpPacket.
inline constexpr uint8_t kTcpFlagFin = 0x01;
inline constexpr uint8_t kTcpFlagSyn = 0x02;
inline constexpr uint8_t kTcpFlagRst = 0x04;
inline constexpr uint8_t kTcpFlagAck = 0x10;

/// A classic (microsecond) pcap file being written, buffered; Close() or the
/// destructor flushes it.
class PcapWriter {
 public:
  PcapWriter() = default;
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();

  /// Creates `path` (truncating it) for frames of `link_type` (a DLT_*
  /// value). The error quotes the path: `cannot create "x": No such file...`.
  bool Open(const std::string& path, int link_type, std::string* err);
  /// Appends one frame captured at `time_us` (microseconds since the epoch).
  bool Write(const uint8_t* data, uint32_t length, int64_t time_us,
             std::string* err);
  bool Write(const std::vector<uint8_t>& frame, int64_t time_us,
             std::string* err) {
    return Write(frame.data(), static_cast<uint32_t>(frame.size()), time_us,
                 err);
  }
  bool Close(std::string* err);

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
  std::vector<char> buffer_;
};

/// An IPv4 or IPv6 packet (by the family of `src`) carrying a TCP header
/// with `flags` and a correct checksum; no options, no payload.
std::vector<uint8_t> BuildTcpPacket(const IpAddress& src, const IpAddress& dst,
                                    uint16_t sport, uint16_t dport,
                                    uint8_t flags);
/// An IPv4 or IPv6 packet carrying an empty UDP datagram, checksummed.
std::vector<uint8_t> BuildUdpPacket(const IpAddress& src, const IpAddress& dst,
                                    uint16_t sport, uint16_t dport);
/// Puts an IP packet into a frame of `link_type`: DLT_EN10MB, DLT_LINUX_SLL,
/// DLT_LINUX_SLL2, DLT_NULL, DLT_LOOP, or raw (DLT_RAW, DLT_IPV4, DLT_IPV6).
/// `vlan_tags` (0..2) tags are inserted for Ethernet and cooked frames.
std::vector<uint8_t> WrapInLink(const std::vector<uint8_t>& ip_packet,
                                int link_type, int vlan_tags = 0);

/// A TCP SYN frame, as a knock client sends it.
std::vector<uint8_t> BuildTcpSynFrame(const IpAddress& src,
                                      const IpAddress& dst, uint16_t sport,
                                      uint16_t dport, int link_type);
/// A UDP frame, as a knock client sends it with --udp.
std::vector<uint8_t> BuildUdpFrame(const IpAddress& src, const IpAddress& dst,
                                   uint16_t sport, uint16_t dport,
                                   int link_type);

}  // namespace knock
