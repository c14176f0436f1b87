#pragma once
// knockd's subcommands, one file each, dispatched from the table in main.cc
// as wg does.

#include <string>
#include <vector>

#include "common/command_line.h"

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

/// One row of the table: `knockd NAME ...` runs `run`, which prints its
/// own usage (kept beside its code) for --help.
struct Subcommand {
  const char* name;
  int (*run)(const Invocation& invocation);
  const char* summary;
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
int RunReload(const Invocation& invocation);

/// Prints "knockd: MESSAGE" on standard error.
void PrintError(const std::string& message);
/// For a subcommand's usage error: the message, a pointer to --help, exit 2.
int UsageError(const std::string& subcommand, const std::string& message);
/// Parses a subcommand's arguments against `options` plus -h/--help. False
/// when the subcommand is done: its `usage` printed for --help (*status 0),
/// or a usage error printed (*status 2).
bool ParseSubcommandLine(const std::vector<std::string>& args,
                         const char* subcommand, const char* usage,
                         std::vector<knock::CommandLineOption> options,
                         std::vector<std::string>* positional, int* status);

}  // namespace knockd
