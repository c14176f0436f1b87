#include "common/ip_address.h"

#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#endif

namespace knock {

IpAddress IpAddress::V4(const uint8_t* four_bytes) {
  IpAddress address;
  address.family = Family::kV4;
  std::memcpy(address.bytes.data(), four_bytes, 4);
  return address;
}

IpAddress IpAddress::V6(const uint8_t* sixteen_bytes) {
  IpAddress address;
  address.family = Family::kV6;
  std::memcpy(address.bytes.data(), sixteen_bytes, 16);
  return address;
}

bool IpAddress::Parse(std::string_view text, IpAddress* out, std::string* err) {
  const std::string copy(text);
  uint8_t buffer[16] = {};
  if (inet_pton(AF_INET, copy.c_str(), buffer) == 1) {
    *out = V4(buffer);
    return true;
  }
  if (inet_pton(AF_INET6, copy.c_str(), buffer) == 1) {
    *out = V6(buffer);
    return true;
  }
  *err = "not an IPv4 or IPv6 address \"" + copy + "\"";
  return false;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

namespace {

AddressClass ClassifyV4(const std::array<uint8_t, 16>& b) {
  if (b[0] == 0) return AddressClass::kUnspecified;
  if (b[0] == 127) return AddressClass::kLoopback;
  if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
    return AddressClass::kBroadcast;
  if (b[0] == 224 && b[1] == 0 && b[2] == 0)
    return AddressClass::kLinkLocalMulticast;
  if ((b[0] & 0xF0) == 224) return AddressClass::kMulticast;
  return AddressClass::kUnicast;
}

AddressClass ClassifyV6(const std::array<uint8_t, 16>& b) {
  if (b[0] == 0xFF)
    return (b[1] & 0x0F) == 0x02 ? AddressClass::kLinkLocalMulticast
                                 : AddressClass::kMulticast;
  bool zero_prefix = true;
  for (int i = 0; i < 10; ++i) zero_prefix = zero_prefix && b[i] == 0;
  if (!zero_prefix) return AddressClass::kUnicast;
  if (b[10] == 0xFF && b[11] == 0xFF) return AddressClass::kIpv4Mapped;
  if (b[10] != 0 || b[11] != 0 || b[12] != 0 || b[13] != 0 || b[14] != 0)
    return AddressClass::kUnicast;
  if (b[15] == 0) return AddressClass::kUnspecified;
  if (b[15] == 1) return AddressClass::kLoopback;
  return AddressClass::kUnicast;
}

}  // namespace

AddressClass ClassifyAddress(const IpAddress& address) {
  return address.is_v4() ? ClassifyV4(address.bytes)
                         : ClassifyV6(address.bytes);
}

const char* AddressClassName(AddressClass address_class) {
  switch (address_class) {
    case AddressClass::kUnicast:
      return "unicast";
    case AddressClass::kUnspecified:
      return "unspecified";
    case AddressClass::kLoopback:
      return "loopback";
    case AddressClass::kBroadcast:
      return "broadcast";
    case AddressClass::kMulticast:
      return "multicast";
    case AddressClass::kLinkLocalMulticast:
      return "link-local multicast";
    case AddressClass::kIpv4Mapped:
      return "IPv4-mapped";
  }
  return "unknown";
}

}  // namespace knock
