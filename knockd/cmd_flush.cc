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
  if (!invocation.args.empty())
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
