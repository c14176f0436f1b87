// `knock pubkey` and its help; the work is shared with knockd.

#include <unistd.h>

#include <cstdio>

#include "common/command_line.h"
#include "common/key_commands.h"
#include "knock/subcommands.h"

namespace knock {

namespace {

constexpr char kUsage[] = R"(Usage: knock pubkey < PRIVATE_KEY_FILE

Reads a private key on standard input and prints its public key, e.g.
  knock pubkey < ~/.config/knock/private.key
)";

}  // namespace

int RunPubKey(const Invocation& invocation) {
  bool help = false;
  std::vector<std::string> positional;
  std::string err;
  if (!ParseCommandLine(invocation.args, {{"-h", "--help", &help, nullptr}},
                        "see: knock pubkey --help", &positional, &err)) {
    PrintError(err);
    return kExitUsage;
  }
  if (help) {
    fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!positional.empty()) {
    // Never echo it: a private key pasted as an argument is still secret.
    PrintError(
        "pubkey takes no argument; it reads the private key on standard "
        "input (see: knock pubkey --help)");
    return kExitUsage;
  }
  if (!PubKeyCommand(STDIN_FILENO, STDOUT_FILENO, &err)) {
    PrintError(err);
    return kExitError;
  }
  return kExitOk;
}

}  // namespace knock
