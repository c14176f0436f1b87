#include "knockd/shared/firewall.h"

#include <algorithm>

namespace knock {

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
