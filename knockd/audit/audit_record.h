#pragma once
// What goes into the audit log: one record per event, built from the
// daemon's own types so that no secret can slip in (docs/AUDIT.md).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "knockd/shared/knock_outcome.h"
#include "knockd/shared/privsep_message.h"
#include "knockd/shared/server_config.h"

namespace knock {

/// One event before sealing: its kind ("grant", "stop", ...), its time
/// (microseconds since the epoch) and its fields in the order written.
struct AuditRecord {
  std::string event;
  int64_t time_us = 0;
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
};

/// The daemon came up: clients, knock range, interfaces, firewall backend.
AuditRecord AuditStart(int64_t time_us, const ServerConfig& config,
                       std::string_view firewall_name);
/// The daemon is stopping; `reason` is e.g. "SIGTERM".
AuditRecord AuditStop(int64_t time_us, std::string_view reason);
/// A reload was accepted (`reason` empty) or refused (`reason` says why).
AuditRecord AuditReload(int64_t time_us, const std::string& config_path,
                        bool accepted, std::string_view reason, size_t clients);
/// A completed sequence: "grant", "refresh", "replay" or "expired_window".
/// `config` resolves the service's ports.
AuditRecord AuditMatch(const KnockOutcome& event, const ServerConfig& config);
/// Refusals of one sequence in one second, summed by the sniffer: event
/// "refusals", with the verdict, how many, from how many sources, and the
/// first few addresses. `source` is the first of them.
AuditRecord AuditRefusals(int64_t time_us, const RefusalSummary& summary,
                          std::string_view client, std::string_view service);
/// A grant's hole closed (its time ran out).
AuditRecord AuditExpiry(int64_t time_us, std::string_view client,
                        std::string_view service, const IpAddress& source);
/// Grants were flushed from the firewall: `table` and who did it
/// ("knockd flush", "reload").
AuditRecord AuditFlush(int64_t time_us, std::string_view table,
                       std::string_view by);
/// Someone else changed or deleted the daemon's firewall `table`; the helper
/// put it back with `grants` live grants. `by` names who changed it.
AuditRecord AuditRestore(int64_t time_us, std::string_view table,
                         std::string_view by, size_t grants);

/// The audit event name for a verdict: "grant", "refresh", "replay",
/// "expired_window".
const char* AuditEventName(Verdict verdict);

}  // namespace knock
