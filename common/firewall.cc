#include "common/firewall.h"

#include <algorithm>

#include "common/clock.h"
#include "common/command_firewall.h"
#include "common/nftables_firewall.h"
#include "common/no_firewall.h"

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

FirewallLayout LayoutFor(const ServerConfig& config) {
  FirewallLayout layout;
  for (const ServiceSettings& service : config.services) {
    for (const ServicePort& port : service.ports) {
      const auto& ports = layout.protected_ports;
      if (std::find(ports.begin(), ports.end(), port) == ports.end()) {
        layout.protected_ports.push_back(port);
      }
    }
  }
  layout.knock_range = config.knock.ports;
  layout.knock_protocol = config.knock.protocol;
  return layout;
}

}  // namespace knock
