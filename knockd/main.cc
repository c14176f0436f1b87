// knockd: the server side of authenticated port knocking. A table of
// subcommands, as wg has; without one, `knockd` runs the daemon. Each
// subcommand's usage text is in its own cmd_*.cc.

#include <sodium.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/command_line.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kProgramHint[] = "see: knockd --help";

const std::vector<Subcommand>& Subcommands() {
  static const std::vector<Subcommand> kTable = {
      {"run", RunDaemon, "run in the foreground (the default)"},
      {"check", RunCheck, "validate the configuration and summarise it"},
      {"reload", RunReload,
       "validate, have the running knockd reload, report its answer"},
      {"genkey", RunGenKey, "print a new private key"},
      {"pubkey", RunPubKey,
       "read a private key on stdin, print its public key"},
      {"client-config", RunClientConfig,
       "print the [server.NAME] stanza for a client to paste"},
      {"client", RunClient,
       "add, remove or list clients (clients.d drop-ins); reload knockd"},
      {"migrate", RunMigrate,
       "print a knockd.toml for knockd 0.8's knockd.conf"},
      {"replay", RunReplay,
       "run the matcher over a capture file; report what would have opened"},
      {"flush", RunFlush,
       "remove the daemon's nftables table (rules and live grants)"},
      {"audit", RunAudit,
       "create the audit sealing key, verify or summarise the audit log"},
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
          "  --version   print the version\n"
          "  -h, --help  this text; SUBCOMMAND --help for its own\n\n"
          "Exit status: 0 success, 1 runtime or configuration error, 2 usage "
          "error.\n",
          kDefaultConfigPath);
}

int Dispatch(const std::string& name, const Invocation& invocation) {
  for (const Subcommand& sub : Subcommands())
    if (name == sub.name) return sub.run(invocation);
  PrintError("unknown subcommand \"" + name + "\" (" + kProgramHint + ")");
  return kExitUsage;
}

}  // namespace

void PrintError(const std::string& message) {
  fprintf(stderr, "knockd: %s\n", message.c_str());
}

int UsageError(const std::string& subcommand, const std::string& message) {
  PrintError(message + " (see: knockd " + subcommand + " --help)");
  return kExitUsage;
}

bool ParseSubcommandLine(const std::vector<std::string>& args,
                         const char* subcommand, const char* usage,
                         std::vector<knock::CommandLineOption> options,
                         std::vector<std::string>* positional, int* status) {
  bool help = false;
  options.push_back({"-h", "--help", &help, nullptr});
  std::string err;
  const std::string hint = std::string("see: knockd ") + subcommand + " --help";
  if (!knock::ParseCommandLine(args, options, hint, positional, &err)) {
    PrintError(err);
    *status = kExitUsage;
    return false;
  }
  if (help) {
    fputs(usage, stdout);
    *status = kExitOk;
    return false;
  }
  return true;
}

}  // namespace knockd

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    knockd::PrintError("cannot initialise libsodium");
    return knockd::kExitError;
  }
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::string> config_path;
  bool help = false, version = false;
  size_t rest = 0;
  std::string err;
  if (!knock::ParseLeadingOptions(args,
                                  {{"-c", nullptr, nullptr, &config_path},
                                   {nullptr, "--version", &version, nullptr},
                                   {"-h", "--help", &help, nullptr}},
                                  knockd::kProgramHint, false, &rest, &err)) {
    knockd::PrintError(err);
    return knockd::kExitUsage;
  }
  if (help) {
    knockd::PrintProgramUsage(stdout);
    return knockd::kExitOk;
  }
  if (version) {
    printf("knockd %s\n", KNOCK_VERSION);
    return knockd::kExitOk;
  }
  if (rest < args.size() && args[rest] == "--") ++rest;
  knockd::Invocation invocation;
  if (config_path) invocation.config_path = *config_path;
  const std::string name = rest < args.size() ? args[rest++] : "run";
  invocation.args.assign(args.begin() + static_cast<std::ptrdiff_t>(rest),
                         args.end());
  return knockd::Dispatch(name, invocation);
}
