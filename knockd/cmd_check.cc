// `knockd check`: validate the configuration and say what it holds.

#include <cstdio>

#include "common/duration.h"
#include "common/knock_sequence.h"
#include "knockd/shared/server_config.h"
#include "knockd/sniffer/sniffer_confinement.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kUsage[] =
    "Usage: knockd [-c FILE] check\n\n"
    "Validates the configuration; prints a summary and exits 0, or prints\n"
    "FILE:LINE:COL: what is wrong, and exits 1.\n";

const char* ProtocolName(knock::KnockProtocol protocol) {
  switch (protocol) {
    case knock::KnockProtocol::kTcp:
      return "tcp";
    case knock::KnockProtocol::kUdp:
      return "udp";
    case knock::KnockProtocol::kBoth:
      return "both";
  }
  return "tcp";
}

const char* BackendName(knock::FirewallBackend backend) {
  switch (backend) {
    case knock::FirewallBackend::kNftables:
      return "nftables";
    case knock::FirewallBackend::kCommand:
      return "command";
    case knock::FirewallBackend::kNone:
      return "none";
  }
  return "nftables";
}

void PrintSummary(const knock::ServerConfig& config) {
  const knock::KnockSettings& k = config.knock;
  const knock::SequenceShape shape{k.ports.first, k.ports.size(), k.count};
  printf("%s: OK\n", config.path.c_str());
  printf("knock range %s (%s), %d knocks, %.0f bits per sequence\n",
         k.ports.ToString().c_str(), ProtocolName(k.protocol), k.count,
         knock::SequenceBits(shape));
  printf("windows of %s, skew %d, %d slots, slack %d, seq_timeout %s\n",
         knock::FormatDurationMs(k.step_seconds * 1000).c_str(), k.skew,
         k.slots, k.slack, knock::FormatDurationMs(k.seq_timeout_ms).c_str());
  printf("firewall %s", BackendName(config.firewall.backend));
  if (config.firewall.backend == knock::FirewallBackend::kNftables)
    printf(" (table inet %s)", config.firewall.table.c_str());
  printf("\n%zu service%s:\n", config.services.size(),
         config.services.size() == 1 ? "" : "s");
  for (const knock::ServiceSettings& service : config.services) {
    std::string ports;
    for (const knock::ServicePort& port : service.ports)
      ports += (ports.empty() ? "" : " ") + port.ToString();
    printf("  %s: %s open for %s\n", service.name.c_str(), ports.c_str(),
           knock::FormatDurationMs(service.open_for_ms).c_str());
  }
  printf("%zu client%s:\n", config.clients.size(),
         config.clients.size() == 1 ? "" : "s");
  for (const knock::ClientSettings& client : config.clients) {
    std::string services;
    for (const std::string& name : client.services)
      services += (services.empty() ? "" : " ") + name;
    printf("  %s: %s\n", client.name.c_str(), services.c_str());
  }
}

}  // namespace

int RunCheck(const Invocation& invocation) {
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(invocation.args, "check", kUsage, {}, &positional,
                           &status))
    return status;
  if (!positional.empty())
    return UsageError("check", "check takes no arguments");
  knock::ServerConfig config;
  std::string err;
  if (!knock::LoadServerConfig(invocation.config_path, &config, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return kExitError;
  }
  for (const std::string& warning : config.warnings)
    fprintf(stderr, "%s\n", warning.c_str());
  // Only a warning: the file may be checked on a machine other than the
  // server; `knockd run` refuses to start without the account.
  knock::SnifferAccount account;
  if (!knock::LookUpSnifferAccount(config.user, &account, &err))
    fprintf(stderr, "%s: warning: %s\n", config.path.c_str(), err.c_str());
  PrintSummary(config);
  return kExitOk;
}

}  // namespace knockd
