#pragma once
// The unprivileged half of `knockd run`: it captures, decodes and matches
// knocks in an empty chroot under its own account and a syscall filter,
// and asks the firewall helper to enforce what it decides.

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/logger.h"
#include "common/packet_source.h"
#include "common/privsep_channel.h"
#include "common/replay_store.h"
#include "common/server_config.h"
#include "common/sniffer_confinement.h"
#include "common/x25519_key.h"

namespace knockd {

/// Everything the daemon hands the sniffer it forks. The sniffer owns it.
struct SnifferSetup {
  std::unique_ptr<knock::ServerConfig> config;
  knock::PrivateKey server_key;
  /// The used set as the helper knew it at fork, kept in memory only.
  knock::ReplayStore used;
  std::unique_ptr<knock::PacketSource> source;
  knock::PrivsepChannel channel;
  knock::SnifferAccount account;
  std::string empty_root;
  pid_t helper_pid = 0;
};

/// Runs in the forked child: confines itself, then matches knocks until the
/// helper says stop or goes away. Returns the exit status for _exit().
int RunSniffer(SnifferSetup setup, knock::Logger* logger);

}  // namespace knockd
