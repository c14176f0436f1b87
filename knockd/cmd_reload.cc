// `knockd reload`: validate the configuration, have the running daemon
// reload it, and fail unless it did: systemd's ExecReload, so that
// `systemctl reload knockd` fails visibly on any refused reload.

#include <cstdio>

#include "knockd/shared/daemon_pid_file.h"
#include "knockd/shared/server_config.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kUsage[] =
    "Usage: knockd [-c FILE] reload\n\n"
    "Validates the configuration as check does, then sends SIGHUP to the\n"
    "running knockd (found through its pid file in /run/knockd, named by\n"
    "FILE, or else <state_dir>/knockd.pid) and waits for its answer.\n"
    "Exits 0 when it took the new configuration; 1 when the\n"
    "configuration is broken (FILE:LINE:COL: ...), knockd is not running,\n"
    "or it refused the reload and keeps its running configuration (the\n"
    "message says why, e.g. which key takes effect on restart only).\n";

}  // namespace

int RunReload(const Invocation& invocation) {
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(invocation.args, "reload", kUsage, {}, &positional,
                           &status))
    return status;
  if (!positional.empty())
    return UsageError("reload", "reload takes no arguments");
  knock::ServerConfig config;
  std::string err;
  if (!knock::LoadServerConfig(invocation.config_path, &config, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return kExitError;
  }
  std::string message;
  // Found by the configuration file's name first: state_dir may have been
  // edited since the daemon started.
  if (knock::ReloadRunningDaemon(
          knock::DaemonFilesFor(invocation.config_path, config.state_dir),
          knock::kReloadAnswerTimeoutMs,
          &message) != knock::ReloadOutcome::kReloaded) {
    PrintError(message);
    return kExitError;
  }
  printf("%s\n", message.c_str());
  return kExitOk;
}

}  // namespace knockd
