#pragma once
// The knock program's subcommands, one file each, dispatched from the table
// in main.cc as wg does.

#include <optional>
#include <string>
#include <vector>

namespace knock {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;        // runtime or configuration
inline constexpr int kExitUsage = 2;        // bad command line
inline constexpr int kExitNeverOpened = 3;  // --wait / proxy timed out

/// What a subcommand is run with: the arguments after its name, and the
/// configuration file if `-c FILE` came before the name.
struct Invocation {
  std::vector<std::string> args;
  std::optional<std::string> config_path;
};

/// One row of the table: `knock NAME ...` runs `run`.
struct Subcommand {
  const char* name;
  int (*run)(const Invocation& invocation);
  const char* summary;
};

int RunKnock(const Invocation& invocation);  // knock SERVER [SERVICE]
int RunGenKey(const Invocation& invocation);
int RunPubKey(const Invocation& invocation);
int RunInit(const Invocation& invocation);
int RunProxy(const Invocation& invocation);

/// The table, in the order `knock --help` lists it.
const std::vector<Subcommand>& Subcommands();

/// Prints "knock: MESSAGE" and a newline on standard error.
void PrintError(const std::string& message);

/// The program's usage text (`knock --help`).
const char* ProgramUsage();

}  // namespace knock
