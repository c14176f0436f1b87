#include "knockd/audit/audit_record.h"

#include "common/clock.h"

namespace knock {

namespace {

nlohmann::ordered_json ServicePorts(const ServerConfig& config,
                                    size_t service) {
  nlohmann::ordered_json ports = nlohmann::ordered_json::array();
  if (service < config.services.size()) {
    for (const ServicePort& port : config.services[service].ports)
      ports.push_back(port.ToString());
  }
  return ports;
}

}  // namespace

const char* AuditEventName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kGranted:
      return "grant";
    case Verdict::kRefreshed:
      return "refresh";
    case Verdict::kReplay:
      return "replay";
    case Verdict::kExpiredWindow:
      return "expired_window";
  }
  return "unknown";
}

AuditRecord AuditStart(int64_t time_us, const ServerConfig& config,
                       std::string_view firewall_name) {
  AuditRecord record{"start", time_us, {}};
  record.fields["config"] = config.path;
  record.fields["clients"] = config.clients.size();
  record.fields["knock_ports"] = config.knock.ports.ToString();
  record.fields["interfaces"] = config.interfaces;
  record.fields["firewall"] = std::string(firewall_name);
  return record;
}

AuditRecord AuditStop(int64_t time_us, std::string_view reason) {
  AuditRecord record{"stop", time_us, {}};
  record.fields["reason"] = std::string(reason);
  return record;
}

AuditRecord AuditReload(int64_t time_us, const std::string& config_path,
                        bool accepted, std::string_view reason,
                        size_t clients) {
  AuditRecord record{"reload", time_us, {}};
  record.fields["config"] = config_path;
  record.fields["result"] = accepted ? "accepted" : "refused";
  if (accepted)
    record.fields["clients"] = clients;
  else
    record.fields["reason"] = std::string(reason);
  return record;
}

AuditRecord AuditMatch(const KnockOutcome& event, const ServerConfig& config) {
  const MatchEvent& match = event.match;
  AuditRecord record{AuditEventName(match.verdict), match.time_us, {}};
  record.fields["client"] = event.client;
  record.fields["service"] = event.service;
  record.fields["source"] = match.source.ToString();
  if (match.verdict == Verdict::kReplay)
    record.fields["first_source"] = match.first_source.ToString();
  record.fields["window"] = match.owner.window;
  record.fields["slot"] = match.owner.slot;
  if (match.verdict == Verdict::kGranted ||
      match.verdict == Verdict::kRefreshed) {
    record.fields["ports"] = ServicePorts(config, match.owner.service);
    record.fields["expires"] = FormatTimestampUs(match.expires_us);
    // A grant the firewall refused to open is logged, but as not enforced.
    if (!event.enforced) record.fields["enforced"] = false;
  }
  if (match.owner.bound) record.fields["bound"] = true;
  if (!event.refused.empty()) record.fields["refused"] = event.refused;
  return record;
}

AuditRecord AuditRefusals(int64_t time_us, const RefusalSummary& summary,
                          std::string_view client, std::string_view service) {
  AuditRecord record{"refusals", time_us, {}};
  record.fields["verdict"] = AuditEventName(summary.verdict);
  record.fields["client"] = std::string(client);
  record.fields["service"] = std::string(service);
  record.fields["source"] = summary.addresses.empty()
                                ? std::string()
                                : summary.addresses[0].ToString();
  if (summary.verdict == Verdict::kReplay)
    record.fields["first_source"] = summary.first_source.ToString();
  record.fields["window"] = summary.owner.window;
  record.fields["slot"] = summary.owner.slot;
  record.fields["second"] =
      FormatTimestampUs(summary.second * int64_t{1000000});
  record.fields["count"] = summary.count;
  record.fields["sources"] = summary.sources;
  if (summary.sources_capped) record.fields["sources_at_least"] = true;
  std::vector<std::string> addresses;
  for (const IpAddress& address : summary.addresses)
    addresses.push_back(address.ToString());
  record.fields["addresses"] = addresses;
  return record;
}

AuditRecord AuditExpiry(int64_t time_us, std::string_view client,
                        std::string_view service, const IpAddress& source) {
  AuditRecord record{"expiry", time_us, {}};
  record.fields["client"] = std::string(client);
  record.fields["service"] = std::string(service);
  record.fields["source"] = source.ToString();
  return record;
}

AuditRecord AuditFlush(int64_t time_us, std::string_view table,
                       std::string_view by) {
  AuditRecord record{"flush", time_us, {}};
  record.fields["table"] = std::string(table);
  record.fields["by"] = std::string(by);
  return record;
}

AuditRecord AuditRestore(int64_t time_us, std::string_view table,
                         std::string_view by, size_t grants) {
  AuditRecord record{"restore", time_us, {}};
  record.fields["table"] = std::string(table);
  record.fields["by"] = std::string(by);
  record.fields["grants"] = grants;
  return record;
}

}  // namespace knock
