// `knockd genkey` and `knockd pubkey`: the same code as `knock`'s.

#include <unistd.h>

#include "common/key_commands.h"
#include "knockd/subcommands.h"

namespace knockd {

int RunGenKey(const Invocation& invocation) {
  if (!invocation.args.empty())
    return UsageError("genkey", "genkey takes no arguments");
  std::string err;
  if (!knock::GenKeyCommand(STDOUT_FILENO, &err)) {
    PrintError(err);
    return kExitError;
  }
  return kExitOk;
}

int RunPubKey(const Invocation& invocation) {
  if (!invocation.args.empty())
    return UsageError("pubkey", "pubkey takes no arguments");
  std::string err;
  if (!knock::PubKeyCommand(STDIN_FILENO, STDOUT_FILENO, &err)) {
    PrintError(err);
    return kExitError;
  }
  return kExitOk;
}

}  // namespace knockd
