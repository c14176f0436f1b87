#pragma once
// Picks the firewall backend a configuration names. Only the helper and the
// administrator's subcommands build real backends; the sniffer never does.

#include <memory>

#include "knockd/shared/firewall.h"
#include "knockd/shared/server_config.h"

namespace knock {

/// The backend the configuration names.
std::unique_ptr<Firewall> MakeFirewall(const FirewallSettings& settings);

}  // namespace knock
