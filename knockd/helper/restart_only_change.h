#pragma once
// The keys a reload cannot change: the sniffer keeps the capture it opened
// with root's power and the account it dropped to, so `interfaces`,
// `knock.ports`, `knock.protocol` and `user` take effect on restart only;
// and `state_dir`, where the used set, the sniffer's root and the pid file
// were opened at start.

#include <string>

#include "knockd/shared/server_config.h"

namespace knock {

/// Empty when `next` changes none of the restart-only keys of `running`;
/// else one line naming each changed key with its running and new value,
/// e.g. `interfaces ("eth0" -> "eth1") takes effect on restart only
/// (systemctl restart knockd)`.
std::string RestartOnlyChange(const ServerConfig& running,
                              const ServerConfig& next);

}  // namespace knock
