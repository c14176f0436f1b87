#pragma once
// `knockd audit FILES`: reads the audit log back for people — a summary
// (who got in, from where, what was refused, what is open now, a timeline)
// or the events that match filters, readable or as JSON Lines.

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "knockd/audit/audit_verify.h"

namespace knock {

/// One record as the reader sees it: the fields filters and the summary
/// use, and the line as written for --json.
struct AuditEvent {
  uint64_t seq = 0;
  int64_t time_us = 0;
  std::string time;
  std::string event;
  std::string client;
  std::string service;
  std::string source;
  std::string text;
  nlohmann::ordered_json json;
  /// The directory of its file: one server's log and its rotated files
  /// share it, so logs of several servers are told apart.
  std::string server;
};

/// The event kinds a record can have, for --event's check.
const std::vector<std::string_view>& AuditEventKinds();

/// Which events to show; empty strings match anything.
struct AuditFilter {
  int64_t since_us = std::numeric_limits<int64_t>::min();
  int64_t until_us = std::numeric_limits<int64_t>::max();
  std::string client;
  std::string source;
  std::string event;

  bool Matches(const AuditEvent& event) const;
};

/// The records of `files`, in order. Lines that are not records (an
/// incomplete line) are skipped, each with a "FILE:LINE: ..." note.
std::vector<AuditEvent> ReadAuditEvents(const std::vector<AuditFile>& files,
                                        std::vector<std::string>* skipped);
std::vector<AuditEvent> FilterAuditEvents(const std::vector<AuditEvent>& events,
                                          const AuditFilter& filter);

/// "2026-11-29T18:57:39.123456Z", "2026-11-29T18:57:39Z" or "2026-11-29"
/// (midnight UTC) to microseconds since the epoch.
bool ParseAuditTime(std::string_view text, int64_t* out_us, std::string* err);

/// One readable line: "TIME  EVENT  details".
std::string FormatAuditEvent(const AuditEvent& event);
/// The summary; holes still open at `now_us` are those granted or
/// refreshed until after it and not since expired or flushed. Events of
/// several servers add grants per server, and each hole and timeline line
/// (then in time order) names its server.
std::string FormatAuditSummary(const std::vector<AuditEvent>& events,
                               int64_t now_us);

}  // namespace knock
