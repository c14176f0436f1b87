// `knockd run`: the daemon in the foreground, systemd style.

#include "knockd/helper/helper.h"
#include "knockd/sniffer/sniffer.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kUsage[] =
    "Usage: knockd [-c FILE] [run]\n\n"
    "Sniffs knocks on the configured interfaces and opens nftables holes\n"
    "for valid sequences. Runs in the foreground and logs to stderr;\n"
    "SIGHUP reloads the configuration, SIGTERM and SIGINT stop it.\n";

}  // namespace

int RunDaemon(const Invocation& invocation) {
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(invocation.args, "run", kUsage, {}, &positional,
                           &status))
    return status;
  if (!positional.empty()) return UsageError("run", "run takes no arguments");
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
