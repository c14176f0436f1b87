#pragma once
// The seam between knockd's two processes at start: the helper forks the
// sniffer without knowing its code. `knockd run` plugs the real, confined
// sniffer in; tests can plug in anything that speaks the channel.

#include <sys/types.h>

#include <memory>
#include <string>

#include "knockd/shared/logger.h"
#include "knockd/shared/privsep_channel.h"
#include "knockd/shared/replay_store.h"
#include "knockd/shared/server_config.h"

namespace knock {

/// Everything the helper hands the sniffer it forks; no key: the sniffer's
/// port tables come over the channel once the helper derived them.
struct SnifferStart {
  std::unique_ptr<ServerConfig> config;
  /// The used set as the helper knew it at fork, kept in memory only.
  ReplayStore used;
  PrivsepChannel channel;
  pid_t helper_pid = 0;
};

/// Starts the sniffer half of the daemon.
class SnifferLauncher {
 public:
  virtual ~SnifferLauncher() = default;
  /// Runs as root before the fork, so that whatever can fail at start
  /// (the account, the empty root) fails with a message, not a dead child.
  virtual bool Prepare(const ServerConfig& config, std::string* err) = 0;
  /// Runs in the forked child; returns its exit status for _exit().
  virtual int Run(SnifferStart start, Logger* logger) = 0;
};

}  // namespace knock
