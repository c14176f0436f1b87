#pragma once
// The sniffer's view of the firewall: it holds no power, so opening a hole
// is a grant request to the firewall helper over the privsep channel.

#include "knockd/shared/firewall.h"
#include "knockd/shared/privsep_channel.h"

namespace knock {

/// A Firewall that forwards Open() as a kGrant message. Setup and Tick
/// belong to the helper; Flush is refused (only an administrator flushes).
class PrivsepFirewall : public Firewall {
 public:
  /// `channel` must outlive the firewall.
  explicit PrivsepFirewall(PrivsepChannel* channel) : channel_(channel) {}
  bool Setup(const FirewallLayout& layout, std::string* err) override;
  bool Open(const Grant& grant, std::string* err) override;
  bool Flush(std::string* err) override;
  const char* Name() const override { return "helper"; }

 private:
  PrivsepChannel* channel_;
};

}  // namespace knock
