#include "knockd/sniffer/privsep_firewall.h"

#include "knockd/shared/privsep_message.h"

namespace knock {

bool PrivsepFirewall::Setup(const FirewallLayout& layout, std::string* err) {
  // The helper installed the rules before the sniffer was born.
  (void)layout;
  (void)err;
  return true;
}

bool PrivsepFirewall::Open(const Grant& grant, std::string* err) {
  return Deliver(EncodeGrant(grant.source, grant.owner,
                             static_cast<uint32_t>(grant.timeout_ms),
                             grant.sequence_ports),
                 err);
}

bool PrivsepFirewall::Deliver(std::vector<uint8_t> message, std::string* err) {
  if (queue_ == nullptr) return channel_->Send(message, -1, err);
  if (queue_->PushUrgent(std::move(message))) return true;
  *err = "the queue to the firewall helper is full (" +
         std::to_string(HelperQueue::kMaxUrgent) + " messages)";
  return false;
}

bool PrivsepFirewall::Flush(std::string* err) {
  *err = "the sniffer cannot flush the firewall";
  return false;
}

}  // namespace knock
