#pragma once
// Command-line options of the knock program: a small table-driven parser so
// that every subcommand accepts exactly its own options and names the one
// it does not know.

#include <optional>
#include <string>
#include <vector>

namespace knock {

/// One option a subcommand accepts: "-v", "--wait"; a flag sets `*flag`, an
/// option with a value stores it in `*value` ("--wait 22" or "--wait=22").
struct OptionSpec {
  const char* short_name;  // "-v", or nullptr
  const char* long_name;   // "--verbose", or nullptr
  bool* flag = nullptr;
  std::optional<std::string>* value = nullptr;
};

/// Parses `args` (without the program and subcommand names) against
/// `specs`; everything that is not an option, and everything after "--",
/// goes to `positional`. `usage_hint` ends error messages: `unknown option
/// "--frob" (see: knock --help)`.
bool ParseOptions(const std::vector<std::string>& args,
                  const std::vector<OptionSpec>& specs,
                  const std::string& usage_hint,
                  std::vector<std::string>* positional, std::string* err);

}  // namespace knock
