#include "knockd/sniffer/pcap_writer.h"

#include <pcap/dlt.h>

#include <cerrno>
#include <cstring>

namespace knock {
namespace {

constexpr uint32_t kPcapMagicMicroseconds = 0xa1b2c3d4;
constexpr uint32_t kPcapSnaplenBytes = 262144;
constexpr int kLinktypeRaw = 101;  // what files store for DLT_RAW
constexpr size_t kWriteBufferBytes = 1 << 20;
constexpr int64_t kMicrosPerSecond = 1000000;

constexpr uint16_t kEthertypeIpv4 = 0x0800;
constexpr uint16_t kEthertypeIpv6 = 0x86dd;
constexpr uint16_t kEthertypeVlan = 0x8100;
constexpr uint16_t kEthertypeQinQ = 0x88a8;
constexpr uint16_t kArphrdEther = 1;
constexpr uint32_t kBsdAfInet = 2;
constexpr uint32_t kDarwinAfInet6 =
    30;  // DLT_NULL captures mostly come from macOS
constexpr uint32_t kOpenBsdAfInet6 = 24;  // DLT_LOOP is OpenBSD's

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kDefaultTtl = 64;

void Put16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}

void Put32(uint8_t* p, uint32_t value) {
  Put16(p, static_cast<uint16_t>(value >> 16));
  Put16(p + 2, static_cast<uint16_t>(value));
}

uint32_t SumWords(const uint8_t* data, size_t length, uint32_t sum) {
  for (size_t i = 0; i + 1 < length; i += 2) sum += data[i] << 8 | data[i + 1];
  if (length % 2 == 1) sum += data[length - 1] << 8;
  return sum;
}

uint16_t FoldChecksum(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

size_t AddressBytes(const IpAddress& address) {
  return address.is_v4() ? 4 : 16;
}

// An IP header for `src` -> `dst` around `segment`, whose checksum field
// at `checksum_offset` is filled in over the pseudo-header.
std::vector<uint8_t> BuildIpPacket(const IpAddress& src, const IpAddress& dst,
                                   uint8_t protocol,
                                   std::vector<uint8_t> segment,
                                   size_t checksum_offset) {
  const size_t address_bytes = AddressBytes(src);
  uint32_t sum = SumWords(src.bytes.data(), address_bytes, 0);
  sum = SumWords(dst.bytes.data(), address_bytes, sum);
  sum += protocol + static_cast<uint32_t>(segment.size());
  sum = SumWords(segment.data(), segment.size(), sum);
  uint16_t checksum = FoldChecksum(sum);
  // UDP sends an all-ones checksum for a computed zero; zero means "none".
  if (checksum == 0 && protocol == kProtoUdp) checksum = 0xffff;
  Put16(segment.data() + checksum_offset, checksum);

  const size_t header_bytes = src.is_v4() ? 20 : 40;
  std::vector<uint8_t> packet(header_bytes + segment.size());
  uint8_t* p = packet.data();
  if (src.is_v4()) {
    p[0] = 0x45;
    Put16(p + 2, static_cast<uint16_t>(packet.size()));
    Put16(p + 6, 0x4000);  // don't fragment
    p[8] = kDefaultTtl;
    p[9] = protocol;
    std::memcpy(p + 12, src.bytes.data(), 4);
    std::memcpy(p + 16, dst.bytes.data(), 4);
    Put16(p + 10, FoldChecksum(SumWords(p, header_bytes, 0)));
  } else {
    p[0] = 0x60;
    Put16(p + 4, static_cast<uint16_t>(segment.size()));
    p[6] = protocol;
    p[7] = kDefaultTtl;
    std::memcpy(p + 8, src.bytes.data(), 16);
    std::memcpy(p + 24, dst.bytes.data(), 16);
  }
  std::memcpy(p + header_bytes, segment.data(), segment.size());
  return packet;
}

// The link header bytes and the offset at which its ethertype goes.
size_t LinkHeader(int link_type, bool v6, uint8_t* header,
                  size_t* ethertype_offset) {
  switch (link_type) {
    case DLT_EN10MB: {
      static const uint8_t kMacs[12] = {0x02, 0, 0, 0, 0, 0x01,
                                        0x02, 0, 0, 0, 0, 0x02};
      std::memcpy(header, kMacs, sizeof kMacs);
      *ethertype_offset = 12;
      return 14;
    }
    case DLT_LINUX_SLL:
      Put16(header + 2, kArphrdEther);
      Put16(header + 4, 6);
      header[11] = 0x02;
      *ethertype_offset = 14;
      return 16;
    case DLT_LINUX_SLL2:
      Put32(header + 4, 2);  // interface index
      Put16(header + 8, kArphrdEther);
      header[11] = 6;
      header[17] = 0x02;
      *ethertype_offset = 0;
      return 20;
    case DLT_NULL: {
      // Host byte order, as the capturing BSD wrote it.
      const uint32_t family = v6 ? kDarwinAfInet6 : kBsdAfInet;
      std::memcpy(header, &family, 4);
      return 4;
    }
    case DLT_LOOP:
      Put32(header, v6 ? kOpenBsdAfInet6 : kBsdAfInet);
      return 4;
    default:  // raw IP
      return 0;
  }
}

bool HasEthertype(int link_type) {
  return link_type == DLT_EN10MB || link_type == DLT_LINUX_SLL ||
         link_type == DLT_LINUX_SLL2;
}

}  // namespace

PcapWriter::~PcapWriter() {
  std::string ignored;
  Close(&ignored);
}

bool PcapWriter::Open(const std::string& path, int link_type,
                      std::string* err) {
  if (!Close(err)) return false;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    *err = "cannot create \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  path_ = path;
  buffer_.resize(kWriteBufferBytes);
  std::setvbuf(file_, buffer_.data(), _IOFBF, buffer_.size());
  // Written in native byte order; the magic tells readers which one.
  uint8_t header[24] = {};
  const uint32_t magic = kPcapMagicMicroseconds;
  const uint16_t version[2] = {2, 4};
  const uint32_t snaplen = kPcapSnaplenBytes;
  const uint32_t linktype =
      static_cast<uint32_t>(link_type == DLT_RAW ? kLinktypeRaw : link_type);
  std::memcpy(header, &magic, 4);
  std::memcpy(header + 4, version, 4);
  std::memcpy(header + 16, &snaplen, 4);
  std::memcpy(header + 20, &linktype, 4);
  if (std::fwrite(header, sizeof header, 1, file_) != 1) {
    *err = "cannot write \"" + path_ + "\": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool PcapWriter::Write(const uint8_t* data, uint32_t length, int64_t time_us,
                       std::string* err) {
  if (file_ == nullptr) {
    *err = "pcap writer is not open";
    return false;
  }
  int64_t seconds = time_us / kMicrosPerSecond;
  int64_t micros = time_us % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    --seconds;
  }
  const uint32_t record[4] = {static_cast<uint32_t>(seconds),
                              static_cast<uint32_t>(micros), length, length};
  if (std::fwrite(record, sizeof record, 1, file_) != 1 ||
      (length > 0 && std::fwrite(data, length, 1, file_) != 1)) {
    *err = "cannot write \"" + path_ + "\": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool PcapWriter::Close(std::string* err) {
  if (file_ == nullptr) return true;
  const bool ok = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok) {
    *err = "cannot write \"" + path_ + "\": " + std::strerror(errno);
  }
  return ok;
}

std::vector<uint8_t> BuildTcpPacket(const IpAddress& src, const IpAddress& dst,
                                    uint16_t sport, uint16_t dport,
                                    uint8_t flags) {
  std::vector<uint8_t> segment(20);
  uint8_t* p = segment.data();
  Put16(p, sport);
  Put16(p + 2, dport);
  Put32(p + 4, 0x6b6e6f63);  // sequence number: any value will do
  p[12] = 5 << 4;            // data offset: 5 words, no options
  p[13] = flags;
  Put16(p + 14, 64240);  // window
  return BuildIpPacket(src, dst, kProtoTcp, std::move(segment), 16);
}

std::vector<uint8_t> BuildUdpPacket(const IpAddress& src, const IpAddress& dst,
                                    uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> segment(8);
  Put16(segment.data(), sport);
  Put16(segment.data() + 2, dport);
  Put16(segment.data() + 4, 8);
  return BuildIpPacket(src, dst, kProtoUdp, std::move(segment), 6);
}

std::vector<uint8_t> WrapInLink(const std::vector<uint8_t>& ip_packet,
                                int link_type, int vlan_tags) {
  const bool v6 = !ip_packet.empty() && (ip_packet[0] >> 4) == 6;
  uint8_t header[20 + 8] = {};
  size_t ethertype_offset = 0;
  size_t header_bytes = LinkHeader(link_type, v6, header, &ethertype_offset);
  if (HasEthertype(link_type)) {
    // Tags go where the ethertype was; the outer one is 802.1ad with two.
    const size_t tags = vlan_tags < 0 ? 0 : vlan_tags > 2 ? 2 : vlan_tags;
    // Tags follow the link header, also for SLL2 whose ethertype is first.
    uint8_t* tail = header + header_bytes;
    uint16_t outer = v6 ? kEthertypeIpv6 : kEthertypeIpv4;
    if (tags > 0) outer = tags == 2 ? kEthertypeQinQ : kEthertypeVlan;
    Put16(header + ethertype_offset, outer);
    for (size_t i = 0; i < tags; ++i) {
      Put16(tail + 4 * i, static_cast<uint16_t>(100 + i));  // VLAN id
      const bool last = i + 1 == tags;
      Put16(tail + 4 * i + 2,
            last ? (v6 ? kEthertypeIpv6 : kEthertypeIpv4) : kEthertypeVlan);
    }
    header_bytes += 4 * tags;
  }
  std::vector<uint8_t> frame(header, header + header_bytes);
  frame.insert(frame.end(), ip_packet.begin(), ip_packet.end());
  return frame;
}

std::vector<uint8_t> BuildTcpSynFrame(const IpAddress& src,
                                      const IpAddress& dst, uint16_t sport,
                                      uint16_t dport, int link_type) {
  return WrapInLink(BuildTcpPacket(src, dst, sport, dport, kTcpFlagSyn),
                    link_type);
}

std::vector<uint8_t> BuildUdpFrame(const IpAddress& src, const IpAddress& dst,
                                   uint16_t sport, uint16_t dport,
                                   int link_type) {
  return WrapInLink(BuildUdpPacket(src, dst, sport, dport), link_type);
}

}  // namespace knock
