// `knock genkey` and its help; the work is shared with knockd.

#include <unistd.h>

#include <cstdio>

#include "common/command_line.h"
#include "common/key_commands.h"
#include "knock/subcommands.h"

namespace knock {

namespace {

constexpr char kUsage[] = R"(Usage: knock genkey

Prints a new private key (44 base64 characters) on standard output, e.g.
  (umask 077; knock genkey > ~/.config/knock/private.key)
`knock init` does this and more.
)";

}  // namespace

int RunGenKey(const Invocation& invocation) {
  bool help = false;
  std::vector<std::string> positional;
  std::string err;
  if (!ParseCommandLine(invocation.args, {{"-h", "--help", &help, nullptr}},
                        "see: knock genkey --help", &positional, &err)) {
    PrintError(err);
    return kExitUsage;
  }
  if (help) {
    fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!positional.empty()) {
    PrintError("genkey takes no argument, got \"" + positional[0] +
               "\" (see: knock genkey --help)");
    return kExitUsage;
  }
  if (!GenKeyCommand(STDOUT_FILENO, &err)) {
    PrintError(err);
    return kExitError;
  }
  return kExitOk;
}

}  // namespace knock
