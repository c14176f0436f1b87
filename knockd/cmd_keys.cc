// `knockd genkey` and `knockd pubkey`: the same code as `knock`'s.

#include <unistd.h>

#include "common/key_commands.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kGenKeyUsage[] =
    "Usage: knockd genkey\n\n"
    "Prints a new X25519 private key (base64) on stdout. Save it with\n"
    "  umask 077; knockd genkey > /etc/knockd/server.key\n";

constexpr char kPubKeyUsage[] = "Usage: knockd pubkey < PRIVATE_KEY_FILE\n";

}  // namespace

int RunGenKey(const Invocation& invocation) {
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(invocation.args, "genkey", kGenKeyUsage, {},
                           &positional, &status))
    return status;
  if (!positional.empty())
    return UsageError("genkey", "genkey takes no arguments");
  std::string err;
  if (!knock::GenKeyCommand(STDOUT_FILENO, &err)) {
    PrintError(err);
    return kExitError;
  }
  return kExitOk;
}

int RunPubKey(const Invocation& invocation) {
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(invocation.args, "pubkey", kPubKeyUsage, {},
                           &positional, &status))
    return status;
  if (!positional.empty())
    return UsageError("pubkey", "pubkey takes no arguments");
  std::string err;
  if (!knock::PubKeyCommand(STDIN_FILENO, STDOUT_FILENO, &err)) {
    PrintError(err);
    return kExitError;
  }
  return kExitOk;
}

}  // namespace knockd
