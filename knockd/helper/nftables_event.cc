#include "knockd/helper/nftables_event.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <algorithm>
#include <cstring>

namespace knock {

namespace {

// Every nftables object message names its table in attribute 1
// (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
// NFTA_SET_ELEM_LIST_TABLE, NFTA_OBJ_TABLE, NFTA_FLOWTABLE_TABLE).
constexpr uint16_t kTableAttribute = 1;
constexpr size_t kMaxNameBytes = 256;

// The object messages: a change to a table or anything in it.
bool IsObjectChange(uint8_t message) {
  switch (message) {
    case NFT_MSG_NEWTABLE:
    case NFT_MSG_DELTABLE:
    case NFT_MSG_NEWCHAIN:
    case NFT_MSG_DELCHAIN:
    case NFT_MSG_NEWRULE:
    case NFT_MSG_DELRULE:
    case NFT_MSG_NEWSET:
    case NFT_MSG_DELSET:
    case NFT_MSG_NEWSETELEM:
    case NFT_MSG_DELSETELEM:
    case NFT_MSG_NEWOBJ:
    case NFT_MSG_DELOBJ:
    case NFT_MSG_NEWFLOWTABLE:
    case NFT_MSG_DELFLOWTABLE:
      return true;
    default:
      return false;
  }
}

// A netlink string attribute: NUL-terminated within its length, bounded.
std::string AttributeString(const uint8_t* value, size_t length) {
  length = strnlen(reinterpret_cast<const char*>(value),
                   std::min(length, kMaxNameBytes));
  return std::string(reinterpret_cast<const char*>(value), length);
}

// Reads the attributes of one message's payload into `event`; false when
// an attribute overruns the payload.
bool ParseAttributes(const uint8_t* data, size_t size, NftablesEvent* event) {
  size_t offset = 0;
  while (offset + sizeof(nlattr) <= size) {
    nlattr attribute;
    memcpy(&attribute, data + offset, sizeof attribute);
    if (attribute.nla_len < sizeof(nlattr) || attribute.nla_len > size - offset)
      return false;
    const uint8_t* value = data + offset + NLA_HDRLEN;
    const size_t length = attribute.nla_len - NLA_HDRLEN;
    const uint16_t type = attribute.nla_type & NLA_TYPE_MASK;
    if (event->is_generation) {
      if (type == NFTA_GEN_PROC_PID && length >= sizeof(uint32_t)) {
        uint32_t pid_be;
        memcpy(&pid_be, value, sizeof pid_be);
        event->pid = ntohl(pid_be);
        event->has_pid = true;
      } else if (type == NFTA_GEN_PROC_NAME) {
        event->process = AttributeString(value, length);
      }
    } else if (type == kTableAttribute) {
      event->table = AttributeString(value, length);
    }
    offset += NLA_ALIGN(attribute.nla_len);
  }
  return true;
}

}  // namespace

bool ParseNftablesEvents(const uint8_t* data, size_t size,
                         std::vector<NftablesEvent>* events) {
  size_t offset = 0;
  while (offset + sizeof(nlmsghdr) <= size) {
    nlmsghdr header;
    memcpy(&header, data + offset, sizeof header);
    if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > size - offset)
      return false;
    const uint8_t* payload = data + offset + NLMSG_HDRLEN;
    const size_t payload_size = header.nlmsg_len - NLMSG_HDRLEN;
    offset += NLMSG_ALIGN(header.nlmsg_len);
    if (NFNL_SUBSYS_ID(header.nlmsg_type) != NFNL_SUBSYS_NFTABLES) continue;
    const uint8_t message = NFNL_MSG_TYPE(header.nlmsg_type);
    if (message != NFT_MSG_NEWGEN && !IsObjectChange(message)) continue;
    if (payload_size < sizeof(nfgenmsg)) return false;
    nfgenmsg generic;
    memcpy(&generic, payload, sizeof generic);
    NftablesEvent event;
    event.message = message;
    event.family = generic.nfgen_family;
    event.is_generation = message == NFT_MSG_NEWGEN;
    const size_t attributes_offset = NLMSG_ALIGN(sizeof(nfgenmsg));
    if (payload_size > attributes_offset &&
        !ParseAttributes(payload + attributes_offset,
                         payload_size - attributes_offset, &event))
      return false;
    events->push_back(std::move(event));
  }
  return offset >= size;
}

}  // namespace knock
