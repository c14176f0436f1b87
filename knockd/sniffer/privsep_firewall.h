#pragma once
// The sniffer's view of the firewall: it holds no power, so opening a hole
// is a grant request to the firewall helper over the privsep channel.

#include "knockd/shared/firewall.h"
#include "knockd/shared/privsep_channel.h"
#include "knockd/sniffer/helper_queue.h"

namespace knock {

/// A Firewall that forwards Open() as a kGrant message. Setup and Tick
/// belong to the helper; Flush is refused (only an administrator flushes).
class PrivsepFirewall : public Firewall {
 public:
  /// `channel` must outlive the firewall.
  explicit PrivsepFirewall(PrivsepChannel* channel) : channel_(channel) {}
  /// Grants go into `queue` (ahead of refusals) instead of waiting for
  /// room in the channel; `queue` must outlive the firewall.
  explicit PrivsepFirewall(HelperQueue* queue) : queue_(queue) {}
  bool Setup(const FirewallLayout& layout, std::string* err) override;
  bool Open(const Grant& grant, std::string* err) override;
  bool Flush(std::string* err) override;
  const char* Name() const override { return "helper"; }

 private:
  /// Hands a message to the queue or, without one, to the channel.
  bool Deliver(std::vector<uint8_t> message, std::string* err);

  PrivsepChannel* channel_ = nullptr;
  HelperQueue* queue_ = nullptr;
};

}  // namespace knock
