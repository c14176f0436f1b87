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
  return channel_->Send(EncodeGrant(grant.source, grant.owner,
                                    static_cast<uint32_t>(grant.timeout_ms),
                                    grant.sequence_ports),
                        -1, err);
}

bool PrivsepFirewall::Flush(std::string* err) {
  *err = "the sniffer cannot flush the firewall";
  return false;
}

}  // namespace knock
