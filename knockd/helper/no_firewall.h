#pragma once
// The backend that enforces nothing: dry runs and `knockd replay` go
// through the same code as a live daemon and only count what they would do.

#include <cstdint>
#include <string>

#include "knockd/shared/firewall.h"

namespace knock {

/// A firewall that opens nothing and remembers how often it was asked to.
class NoFirewall : public Firewall {
 public:
  bool Setup(const FirewallLayout& layout, std::string* err) override;
  bool Open(const Grant& grant, std::string* err) override;
  bool Flush(std::string* err) override;
  const char* Name() const override { return "none"; }

  int setups() const { return setups_; }
  int grants() const { return grants_; }
  /// Service ports over all grants: what nftables would have added.
  int ports_opened() const { return ports_opened_; }
  int flushes() const { return flushes_; }

 private:
  int setups_ = 0;
  int grants_ = 0;
  int ports_opened_ = 0;
  int flushes_ = 0;
};

}  // namespace knock
