// `knockd flush`: remove everything the daemon installed in the firewall.

#include <unistd.h>

#include <cstdio>

#include "common/clock.h"
#include "knockd/audit/audit_log.h"
#include "knockd/audit/audit_record.h"
#include "knockd/helper/make_firewall.h"
#include "knockd/shared/firewall.h"
#include "knockd/shared/server_config.h"
#include "knockd/subcommands.h"

namespace knockd {

namespace {

constexpr char kUsage[] =
    "Usage: knockd [-c FILE] flush\n\n"
    "Deletes the nftables table the daemon owns: the fail-closed rules\n"
    "and every live grant. Protected services are then reachable by\n"
    "anyone until knockd runs again.\n";

// The audit trail says who removed the holes; without a sealing key the
// audit log is off and there is nothing to append to.
void RecordFlush(const knock::ServerConfig& config) {
  if (access(config.audit_key_file.c_str(), F_OK) != 0) return;
  knock::AuditLog audit;
  std::string err;
  if (!audit.Open(config.audit_log, config.audit_key_file, &err) ||
      !audit.Append(knock::AuditFlush(knock::SystemClock().NowMicros(),
                                      config.firewall.table, "knockd flush"),
                    &err))
    PrintError("warning: the audit log has no flush record: " + err);
}

}  // namespace

int RunFlush(const Invocation& invocation) {
  std::vector<std::string> positional;
  int status = kExitOk;
  if (!ParseSubcommandLine(invocation.args, "flush", kUsage, {}, &positional,
                           &status))
    return status;
  if (!positional.empty())
    return UsageError("flush", "flush takes no arguments");
  knock::ServerConfig config;
  std::string err;
  if (!knock::LoadServerConfig(invocation.config_path, &config, &err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return kExitError;
  }
  std::unique_ptr<knock::Firewall> firewall =
      knock::MakeFirewall(config.firewall);
  if (!firewall->Flush(&err)) {
    PrintError(err);
    return kExitError;
  }
  printf("flushed (%s)\n", firewall->Name());
  RecordFlush(config);
  return kExitOk;
}

}  // namespace knockd
