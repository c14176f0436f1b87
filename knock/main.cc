// knock: the laptop side of authenticated port knocking. A table of
// subcommands, as wg has; without one, `knock SERVER [SERVICE]` knocks.

#include <sodium.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/command_line.h"
#include "knock/subcommands.h"

namespace knock {

const std::vector<Subcommand>& Subcommands() {
  static const std::vector<Subcommand> kTable = {
      {"init", RunInit,
       "create the private key if missing; print the server-side stanza"},
      {"proxy", RunProxy,
       "knock, wait for PORT, relay stdin/stdout (ssh ProxyCommand)"},
      {"genkey", RunGenKey, "print a new private key"},
      {"pubkey", RunPubKey,
       "read a private key on stdin, print its public key"},
  };
  return kTable;
}

void PrintError(const std::string& message) {
  fprintf(stderr, "knock: %s\n", message.c_str());
}

const char* ProgramUsage() {
  return R"(Usage: knock [-c FILE] SERVER [SERVICE] [OPTIONS]
       knock [-c FILE] proxy SERVER [SERVICE] PORT [OPTIONS]
       knock [-c FILE] init [--name NAME]
       knock genkey | pubkey

Knocks on SERVER, a [server.NAME] of the configuration or a host given with
--server-key, so that it opens SERVICE (default: the server's `service`) to
this machine's address for a while.

Subcommands:
  init       create the private key if missing; print the server-side stanza
  proxy      knock, wait for PORT, relay stdin/stdout (ssh ProxyCommand)
  genkey     print a new private key
  pubkey     read a private key on stdin, print its public key

Options:
  -c FILE           configuration (default $XDG_CONFIG_HOME/knock/knock.toml,
                    or ~/.config/knock/knock.toml)
  --wait PORT       after knocking, wait until PORT accepts a connection
  --timeout DUR     how long --wait and proxy wait (default 10s)
  --udp             knock with UDP datagrams instead of TCP SYNs
  -4, -6            use only the server's IPv4 / IPv6 address
  -v, --verbose     report each knock and when the port opened (stderr)
  --dry-run         print the sequence's ports on one line; send nothing and
                    use up no slot
  --at UNIXTIME     knock the time window holding UNIXTIME instead of now
  --slot N          use slot N instead of the lowest unused one
  --bind ADDR       bind the sequence to ADDR, the address the server sees
                    (knock/v1 section 7); "auto": the local address of the
                    route to the server (wrong behind NAT)
  --server-key KEY  the server's public key; SERVER is then a host name or
                    address, with the parameters below (defaults shown)
  --ports RANGE     knock range (16384-32767)
  --count N         knocks per sequence (8)
  --step DUR        time window (30s)
  --slots N         sequences per window (4)
  --gap DUR         time between knocks (0: one burst)
  --version         print the version
  -h, --help        this text

Durations take ms, s, m or h. Exit status: 0 ok, 1 runtime or configuration
error, 2 usage error, 3 the port did not open (--wait, proxy).
)";
}

}  // namespace knock

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    knock::PrintError("cannot initialise libsodium");
    return knock::kExitError;
  }
  const std::vector<std::string> args(argv + 1, argv + argc);
  knock::Invocation invocation;
  bool help = false, version = false;
  size_t i = 0;
  std::string err;
  // Only these may come before a subcommand's name; any other option is the
  // knock's own (`knock --wait 22 bastion`), so it is passed on.
  if (!knock::ParseLeadingOptions(
          args,
          {{"-c", "--config", nullptr, &invocation.config_path},
           {nullptr, "--version", &version, nullptr},
           {"-h", "--help", &help, nullptr}},
          "see: knock --help", true, &i, &err)) {
    knock::PrintError(err);
    return knock::kExitUsage;
  }
  if (help) {
    fputs(knock::ProgramUsage(), stdout);
    return knock::kExitOk;
  }
  if (version) {
    printf("knock %s\n", KNOCK_VERSION);
    return knock::kExitOk;
  }
  for (const knock::Subcommand& subcommand : knock::Subcommands()) {
    if (i < args.size() && args[i] == subcommand.name) {
      invocation.args.assign(args.begin() + i + 1, args.end());
      return subcommand.run(invocation);
    }
  }
  invocation.args.assign(args.begin() + i, args.end());
  return knock::RunKnock(invocation);
}
