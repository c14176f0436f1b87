// Choosing a backend and deriving the layout from a configuration.
#include <catch2/catch.hpp>

#include "knockd/helper/make_firewall.h"
#include "knockd/shared/firewall.h"

TEST_CASE("the layout holds every protected port once", "[firewall]") {
  knock::ServerConfig config;
  config.knock.ports = {20000, 29999};
  config.knock.protocol = knock::KnockProtocol::kBoth;
  knock::ServiceSettings ssh{"ssh", {{knock::Transport::kTcp, 22}}, 30000};
  knock::ServiceSettings admin{"admin",
                               {{knock::Transport::kTcp, 22},
                                {knock::Transport::kUdp, 53},
                                {knock::Transport::kTcp, 8443}},
                               60000};
  config.services = {ssh, admin};
  const knock::FirewallLayout layout = knock::LayoutFor(config);
  CHECK(layout.protected_ports ==
        std::vector<knock::ServicePort>{{knock::Transport::kTcp, 22},
                                        {knock::Transport::kUdp, 53},
                                        {knock::Transport::kTcp, 8443}});
  CHECK(layout.knock_range == knock::PortRange{20000, 29999});
  CHECK(layout.knock_protocol == knock::KnockProtocol::kBoth);
}

TEST_CASE("the configuration picks the backend", "[firewall]") {
  knock::FirewallSettings settings;
  CHECK(std::string(knock::MakeFirewall(settings)->Name()) == "nftables");
  settings.backend = knock::FirewallBackend::kCommand;
  settings.open_command = {"/bin/true"};
  settings.close_command = {"/bin/true"};
  CHECK(std::string(knock::MakeFirewall(settings)->Name()) == "command");
  settings.backend = knock::FirewallBackend::kNone;
  CHECK(std::string(knock::MakeFirewall(settings)->Name()) == "none");
}
