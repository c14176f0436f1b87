#include "knockd/helper/make_firewall.h"

#include "common/clock.h"
#include "knockd/helper/command_firewall.h"
#include "knockd/helper/nftables_firewall.h"
#include "knockd/helper/no_firewall.h"

namespace knock {

std::unique_ptr<Firewall> MakeFirewall(const FirewallSettings& settings) {
  switch (settings.backend) {
    case FirewallBackend::kNftables:
      return std::make_unique<NftablesFirewall>(settings.table);
    case FirewallBackend::kCommand: {
      // Stateless, so one instance serves every firewall made.
      static const SystemClock system_clock;
      return std::make_unique<CommandFirewall>(
          settings.open_command, settings.close_command, &system_clock);
    }
    case FirewallBackend::kNone:
      break;
  }
  return std::make_unique<NoFirewall>();
}

}  // namespace knock
