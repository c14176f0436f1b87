// knockd: the server side of authenticated port knocking. A table of
// subcommands, as wg has; without one, `knockd` runs the daemon.

#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "knockd/subcommands.h"

namespace knockd {

namespace {

const std::vector<Subcommand>& Subcommands() {
  static const std::vector<Subcommand> kTable = {
      {"run", RunDaemon, "run in the foreground (the default)",
       "Usage: knockd [-c FILE] [run]\n\n"
       "Sniffs knocks on the configured interfaces and opens nftables holes\n"
       "for valid sequences. Runs in the foreground and logs to stderr;\n"
       "SIGHUP reloads the configuration, SIGTERM and SIGINT stop it.\n"},
      {"check", RunCheck, "validate the configuration and summarise it",
       "Usage: knockd [-c FILE] check\n\n"
       "Validates the configuration; prints a summary and exits 0, or prints\n"
       "FILE:LINE:COL: what is wrong, and exits 1.\n"},
      {"genkey", RunGenKey, "print a new private key",
       "Usage: knockd genkey\n\n"
       "Prints a new X25519 private key (base64) on stdout. Save it with\n"
       "  umask 077; knockd genkey > /etc/knockd/server.key\n"},
      {"pubkey", RunPubKey, "read a private key on stdin, print its public key",
       "Usage: knockd pubkey < PRIVATE_KEY_FILE\n"},
      {"client-config", RunClientConfig,
       "print the [server.NAME] stanza for a client to paste",
       "Usage: knockd [-c FILE] client-config NAME [--host HOST] "
       "[--server-name NAME]\n\n"
       "Prints the [server.NAME] stanza that client NAME pastes into its\n"
       "knock.toml. --host defaults to this machine's host name;\n"
       "--server-name (the stanza's name) to the host's first label.\n"},
      {"client", RunClient,
       "add, remove or list clients (clients.d drop-ins); reload knockd",
       "Usage: knockd [-c FILE] client add NAME --key PUBKEY "
       "[--services a,b] [--no-reload]\n"
       "       knockd [-c FILE] client remove NAME [--no-reload]\n"
       "       knockd [-c FILE] client list\n\n"
       "add writes clients.d/NAME.toml beside the configuration (mode 0640,\n"
       "atomically) for a client with public key PUBKEY and the services\n"
       "listed (default: every service), after checking that the whole\n"
       "configuration stays valid: a bad key, a taken name or key, or an\n"
       "unknown service is refused. remove deletes the drop-in that defines\n"
       "NAME. Both then send SIGHUP to the running knockd, found through\n"
       "<state_dir>/knockd.pid, and say so. list shows every client, its\n"
       "services and the file that defines it.\n"},
      {"migrate", RunMigrate,
       "print a knockd.toml for knockd 0.8's knockd.conf",
       "Usage: knockd migrate [FILE]\n\n"
       "Reads knockd 0.8's configuration (default /etc/knockd.conf) and\n"
       "prints a knockd.toml on stdout: a service for each door whose\n"
       "command opens a port (iptables --dport, nft dport, ufw port,\n"
       "firewalld port=), interfaces and syslog from [options], and a\n"
       "comment for everything that cannot carry over. Static sequences\n"
       "cannot: the output says why and how to move each user to a key.\n"},
      {"replay", RunReplay,
       "run the matcher over a capture file; report what would have opened",
       "Usage: knockd [-c FILE] replay --pcap FILE\n\n"
       "Runs the matcher over a pcap or pcapng capture with no firewall and\n"
       "the capture's timestamps, prints one line per decision (time,\n"
       "verdict, client, service, source) and the counters. The live\n"
       "daemon's used-sequence store is neither read nor written.\n"},
      {"flush", RunFlush,
       "remove the daemon's nftables table (rules and live grants)",
       "Usage: knockd [-c FILE] flush\n\n"
       "Deletes the nftables table the daemon owns: the fail-closed rules\n"
       "and every live grant. Protected services are then reachable by\n"
       "anyone until knockd runs again.\n"},
      {"audit", RunAudit,
       "create the audit sealing key, verify or summarise the audit log",
       "Usage: knockd [-c FILE] audit init [--key-file PATH]\n"
       "       knockd [-c FILE] audit --verify --key KEY [FILES]\n"
       "       knockd audit --verify --key KEY1 FILES1 --key KEY2 FILES2 ...\n"
       "       knockd [-c FILE] audit [FILES] [--since T] [--until T]\n"
       "              [--client NAME] [--source ADDR] [--event KIND] "
       "[--json]\n\n"
       "init creates the sealing state (audit_key_file, by default\n"
       "<state_dir>/audit.key) and prints the verification key once: keep it\n"
       "off this machine. --verify checks every seal and the chain across\n"
       "FILES (oldest first) and prints \"OK, N records, sealed through T\"\n"
       "or the first record that fails and why; exit 1 on failure. KEY - is\n"
       "read from stdin; a KEY naming a file is read from its first line.\n"
       "With several --key (many servers' logs), each key checks the files\n"
       "after it, one line per server. Without --verify: a summary (grants\n"
       "per client and source, refusals per source, holes open now, a\n"
       "timeline; with many servers' logs also grants per server), or with a\n"
       "filter the matching events, one per line (--json: as logged).\n"
       "T is 2026-11-29, 2026-11-29T18:57:39Z or with .123456 before Z.\n"
       "FILES default to audit_log and its rotated files (audit_log.N).\n"},
  };
  return kTable;
}

void PrintProgramUsage(FILE* out) {
  fprintf(out,
          "Usage: knockd [-c FILE] [SUBCOMMAND] [ARGS]\n\n"
          "Authenticated port knocking: a passive sniffer that opens nftables\n"
          "holes for valid one-time knock sequences.\n\nSubcommands:\n");
  for (const Subcommand& sub : Subcommands())
    fprintf(out, "  %-14s %s\n", sub.name, sub.summary);
  fprintf(out,
          "\nOptions:\n"
          "  -c FILE     configuration (default %s)\n"
          "  -h, --help  this text; SUBCOMMAND --help for its own\n\n"
          "Exit status: 0 success, 1 runtime or configuration error, 2 usage "
          "error.\n",
          kDefaultConfigPath);
}

}  // namespace

void PrintError(const std::string& message) {
  fprintf(stderr, "knockd: %s\n", message.c_str());
}

int UsageError(const std::string& subcommand, const std::string& message) {
  PrintError(message + " (see: knockd " + subcommand + " --help)");
  return kExitUsage;
}

bool WantsHelp(const Invocation& invocation, const char* usage) {
  for (const std::string& arg : invocation.args) {
    if (arg == "-h" || arg == "--help") {
      fputs(usage, stdout);
      return true;
    }
  }
  return false;
}

}  // namespace knockd

int main(int argc, char** argv) {
  using knockd::Invocation;
  if (sodium_init() < 0) {
    knockd::PrintError("cannot initialise libsodium");
    return knockd::kExitError;
  }
  Invocation invocation;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      knockd::PrintProgramUsage(stdout);
      return knockd::kExitOk;
    }
    if (arg == "-c") {
      if (i + 1 == argc) {
        knockd::PrintError("-c needs a FILE (see: knockd --help)");
        return knockd::kExitUsage;
      }
      invocation.config_path = argv[++i];
      continue;
    }
    break;
  }
  std::string name = i < argc ? argv[i++] : "run";
  if (!name.empty() && name[0] == '-') {
    knockd::PrintError("unknown option \"" + name + "\" (see: knockd --help)");
    return knockd::kExitUsage;
  }
  invocation.args.assign(argv + i, argv + argc);
  for (const knockd::Subcommand& sub : knockd::Subcommands()) {
    if (name != sub.name) continue;
    if (knockd::WantsHelp(invocation, sub.usage)) return knockd::kExitOk;
    return sub.run(invocation);
  }
  knockd::PrintError("unknown subcommand \"" + name +
                     "\" (see: knockd --help)");
  return knockd::kExitUsage;
}
