// `knockd run`: the daemon in the foreground, systemd style.

#include "knockd/helper/helper.h"
#include "knockd/sniffer/sniffer.h"
#include "knockd/subcommands.h"

namespace knockd {

int RunDaemon(const Invocation& invocation) {
  if (!invocation.args.empty())
    return UsageError("run", "run takes no arguments");
  ConfinedSnifferLauncher sniffer;
  Helper daemon(invocation.config_path, &sniffer);
  std::string err;
  if (!daemon.Start(&err)) {
    PrintError(err);
    return kExitError;
  }
  return daemon.Loop();
}

}  // namespace knockd
