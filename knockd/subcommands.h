#pragma once
// knockd's subcommands, one file each, dispatched from the table in main.cc
// as wg does.

#include <string>
#include <vector>

namespace knockd {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // runtime or configuration
inline constexpr int kExitUsage = 2;  // bad command line
inline constexpr char kDefaultConfigPath[] = "/etc/knockd/knockd.toml";

/// What a subcommand is run with: its arguments and the configuration file.
struct Invocation {
  std::vector<std::string> args;
  std::string config_path = kDefaultConfigPath;
};

/// One row of the table: `knockd NAME ...` runs `run`; `usage` is its --help.
struct Subcommand {
  const char* name;
  int (*run)(const Invocation& invocation);
  const char* summary;
  const char* usage;
};

int RunDaemon(const Invocation& invocation);
int RunCheck(const Invocation& invocation);
int RunGenKey(const Invocation& invocation);
int RunPubKey(const Invocation& invocation);
int RunClientConfig(const Invocation& invocation);
int RunReplay(const Invocation& invocation);
int RunFlush(const Invocation& invocation);
int RunAudit(const Invocation& invocation);
int RunClient(const Invocation& invocation);
int RunMigrate(const Invocation& invocation);

/// Prints "knockd: MESSAGE" on standard error.
void PrintError(const std::string& message);
/// For a subcommand's usage error: the message, a pointer to --help, exit 2.
int UsageError(const std::string& subcommand, const std::string& message);
/// True when the arguments ask for help (then the usage has been printed).
bool WantsHelp(const Invocation& invocation, const char* usage);

}  // namespace knockd
