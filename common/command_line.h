#pragma once
// Command-line parsing for both programs: every subcommand declares the
// options it accepts in a table, and every usage error reads the same way
// and names the argument that was wrong.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace knock {

/// One option a command accepts: "-v", "--wait". A flag sets `*flag`; an
/// option with a value stores it in `*value` ("--wait 22" or "--wait=22").
struct CommandLineOption {
  const char* short_name;  // "-v", or nullptr
  const char* long_name;   // "--verbose", or nullptr
  bool* flag = nullptr;
  std::optional<std::string>* value = nullptr;
};

/// Parses `args` (without the program and subcommand names) against
/// `options`; everything that is not an option, and everything after "--",
/// goes to `positional`. `usage_hint` ends error messages:
/// `unknown option "--frob" (see: knock --help)`.
bool ParseCommandLine(const std::vector<std::string>& args,
                      const std::vector<CommandLineOption>& options,
                      const std::string& usage_hint,
                      std::vector<std::string>* positional, std::string* err);

/// Parses the options in front of a subcommand's name and sets `*rest` to
/// the index of the first argument it did not take: the first one that is
/// not an option, "--", or, with `pass_unknown`, an option not in
/// `options` (one the subcommand that follows will read).
bool ParseLeadingOptions(const std::vector<std::string>& args,
                         const std::vector<CommandLineOption>& options,
                         const std::string& usage_hint, bool pass_unknown,
                         size_t* rest, std::string* err);

}  // namespace knock
