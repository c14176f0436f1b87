#pragma once
// Builds nftables notifications as the kernel sends them, for the tests of
// their decoding and of the reaction to them.
#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace nft_fixture {

inline void Attribute(std::vector<uint8_t>* out, uint16_t type,
                      const void* value, size_t size) {
  nlattr attribute{};
  attribute.nla_len = static_cast<uint16_t>(NLA_HDRLEN + size);
  attribute.nla_type = type;
  const size_t at = out->size();
  out->resize(at + NLA_ALIGN(attribute.nla_len), 0);
  memcpy(out->data() + at, &attribute, sizeof attribute);
  memcpy(out->data() + at + NLA_HDRLEN, value, size);
}

// One message: header, nfgenmsg, `attributes`.
inline std::vector<uint8_t> Message(uint8_t type, uint8_t family,
                                    const std::vector<uint8_t>& attributes) {
  nfgenmsg generic{};
  generic.nfgen_family = family;
  generic.version = NFNETLINK_V0;
  std::vector<uint8_t> out(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof generic), 0);
  memcpy(out.data() + NLMSG_HDRLEN, &generic, sizeof generic);
  out.insert(out.end(), attributes.begin(), attributes.end());
  nlmsghdr header{};
  header.nlmsg_len = static_cast<uint32_t>(out.size());
  header.nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
  memcpy(out.data(), &header, sizeof header);
  return out;
}

// A change to an object of `table` (attribute 1 names the table).
inline std::vector<uint8_t> ObjectMessage(uint8_t type, uint8_t family,
                                          const std::string& table,
                                          bool terminate = true) {
  std::vector<uint8_t> attributes;
  Attribute(&attributes, 1, table.c_str(), table.size() + (terminate ? 1 : 0));
  return Message(type, family, attributes);
}

// The end of a transaction, committed by `pid` (`process`).
inline std::vector<uint8_t> Generation(uint32_t pid, const std::string& process,
                                       bool with_pid = true) {
  std::vector<uint8_t> attributes;
  const uint32_t id = htonl(9);
  Attribute(&attributes, NFTA_GEN_ID, &id, sizeof id);
  if (with_pid) {
    const uint32_t pid_be = htonl(pid);
    Attribute(&attributes, NFTA_GEN_PROC_PID, &pid_be, sizeof pid_be);
    Attribute(&attributes, NFTA_GEN_PROC_NAME, process.c_str(),
              process.size() + 1);
  }
  return Message(NFT_MSG_NEWGEN, 0, attributes);
}

inline std::vector<uint8_t> Datagram(
    const std::vector<std::vector<uint8_t>>& messages) {
  std::vector<uint8_t> out;
  for (const auto& message : messages) {
    out.insert(out.end(), message.begin(), message.end());
    out.resize(NLMSG_ALIGN(out.size()), 0);
  }
  return out;
}

}  // namespace nft_fixture
