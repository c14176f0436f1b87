#include "knockd/audit/audit_summary.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "knockd/audit/audit_line.h"

namespace knock {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int kEventColumnChars = 14;

/// Counts per client or per source, for the summary's tables.
struct Tally {
  uint64_t grants = 0;
  uint64_t refreshes = 0;
  uint64_t replays = 0;
  uint64_t expired_windows = 0;
};

std::string Count(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string GrantCounts(const Tally& tally) {
  std::string text = Count(tally.grants, "grant", "grants");
  if (tally.refreshes > 0)
    text += ", " + Count(tally.refreshes, "refresh", "refreshes");
  return text;
}

std::string RefusalCounts(const Tally& tally) {
  std::string text;
  if (tally.replays > 0) text = Count(tally.replays, "replay", "replays");
  if (tally.expired_windows > 0) {
    if (!text.empty()) text += ", ";
    text += Count(tally.expired_windows, "expired window", "expired windows");
  }
  return text;
}

std::string PortsText(const nlohmann::ordered_json& json) {
  std::string text;
  auto ports = json.find("ports");
  if (ports == json.end() || !ports->is_array()) return text;
  for (const auto& port : *ports) {
    if (!port.is_string()) continue;
    if (!text.empty()) text += ",";
    text += port.get<std::string>();
  }
  return text;
}

std::string Who(const AuditEvent& event) {
  return event.client + " " + event.service + " from " + event.source;
}

std::string Details(const AuditEvent& event) {
  const nlohmann::ordered_json& json = event.json;
  const std::string& kind = event.event;
  if (kind == "grant" || kind == "refresh") {
    std::string text = Who(event) + " ports " + PortsText(json) + " until " +
                       AuditString(json, "expires");
    if (json.contains("enforced")) text += " (not enforced: firewall error)";
    return text;
  }
  if (kind == "replay")
    return Who(event) + " (first used by " + AuditString(json, "first_source") +
           ")";
  if (kind == "expired_window" || kind == "expiry") return Who(event);
  if (kind == "refusals")
    return event.client + " " + event.service + ": " +
           std::to_string(AuditUnsigned(json, "count", 0)) + " " +
           AuditString(json, "verdict") + " from " +
           (json.contains("sources_at_least") ? "at least " : "") +
           std::to_string(AuditUnsigned(json, "sources", 0)) +
           " sources, first " + event.source + " (second " +
           AuditString(json, "second") + ")";
  if (kind == "start")
    return AuditString(json, "config") + ", " +
           Count(AuditUnsigned(json, "clients", 0), "client", "clients") +
           ", knock ports " + AuditString(json, "knock_ports") + ", firewall " +
           AuditString(json, "firewall");
  if (kind == "stop") return AuditString(json, "reason");
  if (kind == "reload") {
    if (AuditString(json, "result") == "accepted")
      return "accepted " + AuditString(json, "config") + ", " +
             Count(AuditUnsigned(json, "clients", 0), "client", "clients");
    return "refused: " + AuditString(json, "reason");
  }
  if (kind == "flush")
    return "table " + AuditString(json, "table") + " by " +
           AuditString(json, "by");
  if (kind == "restore")
    return "table " + AuditString(json, "table") + " changed by " +
           AuditString(json, "by") + ", put back with " +
           Count(AuditUnsigned(json, "grants", 0), "live grant", "live grants");
  if (kind == "recovered")
    return "after an incomplete line of " +
           std::to_string(AuditUnsigned(json, "fragment_bytes", 0)) +
           " bytes (a crash)";
  if (kind == "file") {
    if (json.contains("continues"))
      return "continues after record " +
             std::to_string(AuditUnsigned(json, "continues", 0));
    return "key id " + AuditString(json, "key_id");
  }
  return "";
}

bool ParseDigits(std::string_view text, size_t at, size_t count, int* out) {
  if (at + count > text.size()) return false;
  int value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

bool ParseFraction(std::string_view text, int64_t* micros) {
  // ".123456Z" or "Z"; up to six digits, padded on the right.
  if (text == "Z") return true;
  if (text.size() < 3 || text.size() > 8 || text[0] != '.' ||
      text.back() != 'Z')
    return false;
  int64_t value = 0;
  for (size_t i = 1; i < 7; ++i) {
    const bool digit = i + 1 < text.size();
    if (digit && (text[i] < '0' || text[i] > '9')) return false;
    value = value * 10 + (digit ? text[i] - '0' : 0);
  }
  *micros = value;
  return true;
}

/// Holes still open: (client, service, source) to the expiry text and time.
using OpenHoles = std::map<std::tuple<std::string, std::string, std::string>,
                           std::pair<int64_t, std::string>>;

OpenHoles FindOpenHoles(const std::vector<AuditEvent>& events, int64_t now_us) {
  OpenHoles holes;
  for (const AuditEvent& event : events) {
    const auto key = std::make_tuple(event.client, event.service, event.source);
    if (event.event == "grant" || event.event == "refresh") {
      int64_t expires_us = 0;
      std::string err;
      const std::string expires = AuditString(event.json, "expires");
      if (!event.json.contains("enforced") &&
          ParseAuditTime(expires, &expires_us, &err))
        holes[key] = {expires_us, expires};
    } else if (event.event == "expiry") {
      holes.erase(key);
    } else if (event.event == "flush") {
      holes.clear();
    }
  }
  std::erase_if(holes, [now_us](const auto& hole) {
    return hole.second.first <= now_us;
  });
  return holes;
}

}  // namespace

const std::vector<std::string_view>& AuditEventKinds() {
  static const std::vector<std::string_view> kKinds = {
      "file",      "start",    "stop",           "reload", "grant",
      "refresh",   "replay",   "expired_window", "expiry", "flush",
      "recovered", "refusals", "restore"};
  return kKinds;
}

bool AuditFilter::Matches(const AuditEvent& e) const {
  return e.time_us >= since_us && e.time_us <= until_us &&
         (client.empty() || e.client == client) &&
         (source.empty() || e.source == source) &&
         (event.empty() || e.event == event);
}

std::vector<AuditEvent> ReadAuditEvents(const std::vector<AuditFile>& files,
                                        std::vector<std::string>* skipped) {
  std::vector<AuditEvent> events;
  for (const AuditFileLine& line : SplitAuditFiles(files)) {
    AuditLine parsed;
    std::string why;
    AuditEvent event;
    if (!line.complete || !ParseAuditLine(line.text, &parsed, &why) ||
        !ParseAuditTime(parsed.time, &event.time_us, &why)) {
      if (line.complete == false) why = "an incomplete last line";
      skipped->push_back(line.file->name + ":" +
                         std::to_string(line.line_number) +
                         ": not a record, skipped (" + why + ")");
      continue;
    }
    event.seq = parsed.seq;
    event.time = parsed.time;
    event.event = parsed.event;
    event.client = AuditString(parsed.json, "client");
    event.service = AuditString(parsed.json, "service");
    event.source = AuditString(parsed.json, "source");
    event.text = line.text;
    event.json = std::move(parsed.json);
    const size_t slash = line.file->name.rfind('/');
    event.server =
        slash == std::string::npos ? "." : line.file->name.substr(0, slash);
    events.push_back(std::move(event));
  }
  return events;
}

std::vector<AuditEvent> FilterAuditEvents(const std::vector<AuditEvent>& events,
                                          const AuditFilter& filter) {
  std::vector<AuditEvent> kept;
  for (const AuditEvent& event : events)
    if (filter.Matches(event)) kept.push_back(event);
  return kept;
}

bool ParseAuditTime(std::string_view text, int64_t* out_us, std::string* err) {
  tm utc{};
  int64_t micros = 0;
  bool ok = ParseDigits(text, 0, 4, &utc.tm_year) && text.size() >= 10 &&
            text[4] == '-' && ParseDigits(text, 5, 2, &utc.tm_mon) &&
            text[7] == '-' && ParseDigits(text, 8, 2, &utc.tm_mday);
  if (ok && text.size() > 10) {
    ok = text.size() >= 20 && text[10] == 'T' &&
         ParseDigits(text, 11, 2, &utc.tm_hour) && text[13] == ':' &&
         ParseDigits(text, 14, 2, &utc.tm_min) && text[16] == ':' &&
         ParseDigits(text, 17, 2, &utc.tm_sec) &&
         ParseFraction(text.substr(19), &micros);
  }
  ok = ok && utc.tm_mon >= 1 && utc.tm_mon <= 12 && utc.tm_mday >= 1 &&
       utc.tm_mday <= 31 && utc.tm_hour < 24 && utc.tm_min < 60 &&
       utc.tm_sec < 61;
  if (!ok) {
    *err = "not a UTC time \"" + std::string(text) +
           "\" (2026-11-29, 2026-11-29T18:57:39Z or with .123456 before Z)";
    return false;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  *out_us = int64_t{timegm(&utc)} * kMicrosPerSecond + micros;
  return true;
}

std::string FormatAuditEvent(const AuditEvent& event) {
  char kind[32];
  snprintf(kind, sizeof kind, "%-*s", kEventColumnChars, event.event.c_str());
  std::string line = event.time + "  " + kind + "  " + Details(event);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

namespace {

std::vector<std::string> ServersOf(const std::vector<AuditEvent>& events) {
  std::vector<std::string> servers;
  for (const AuditEvent& event : events) {
    if (std::find(servers.begin(), servers.end(), event.server) ==
        servers.end())
      servers.push_back(event.server);
  }
  return servers;
}

/// The parts of the summary that only logs of several servers have.
std::string SeveralServersSummary(const std::vector<AuditEvent>& events,
                                  const std::vector<std::string>& servers,
                                  int64_t now_us) {
  std::map<std::string, Tally> per_server;
  for (const AuditEvent& event : events) {
    if (event.event == "grant") ++per_server[event.server].grants;
    if (event.event == "refresh") ++per_server[event.server].refreshes;
  }
  std::string text = "\ngrants per server:\n";
  for (const std::string& server : servers)
    text += "  " + server + ": " + GrantCounts(per_server[server]) + "\n";
  text += "\nholes open now:\n";
  bool any = false;
  for (const std::string& server : servers) {
    std::vector<AuditEvent> own;
    for (const AuditEvent& event : events)
      if (event.server == server) own.push_back(event);
    for (const auto& [key, expiry] : FindOpenHoles(own, now_us)) {
      any = true;
      text += "  " + server + ": " + std::get<0>(key) + " " + std::get<1>(key) +
              " from " + std::get<2>(key) + " until " + expiry.second + "\n";
    }
  }
  if (!any) text += "  none\n";
  std::vector<const AuditEvent*> timeline;
  for (const AuditEvent& event : events)
    if (event.event != "file") timeline.push_back(&event);
  std::stable_sort(timeline.begin(), timeline.end(),
                   [](const AuditEvent* a, const AuditEvent* b) {
                     return a->time_us < b->time_us;
                   });
  text += "\ntimeline:\n";
  for (const AuditEvent* event : timeline)
    text += "  " + event->server + "  " + FormatAuditEvent(*event) + "\n";
  return text;
}

}  // namespace

std::string FormatAuditSummary(const std::vector<AuditEvent>& events,
                               int64_t now_us) {
  const std::vector<std::string> servers = ServersOf(events);
  std::map<std::string, Tally> per_client, per_source, refused;
  for (const AuditEvent& event : events) {
    if (event.event == "grant") {
      ++per_client[event.client].grants;
      ++per_source[event.source].grants;
    } else if (event.event == "refresh") {
      ++per_client[event.client].refreshes;
      ++per_source[event.source].refreshes;
    } else if (event.event == "replay") {
      ++refused[event.source].replays;
    } else if (event.event == "expired_window") {
      ++refused[event.source].expired_windows;
    } else if (event.event == "refusals") {
      // Summed by the sniffer: counted under the first source it names.
      const uint64_t count = AuditUnsigned(event.json, "count", 0);
      if (AuditString(event.json, "verdict") == "replay")
        refused[event.source].replays += count;
      else
        refused[event.source].expired_windows += count;
    }
  }
  std::string text = Count(events.size(), "record", "records");
  if (servers.size() > 1) {
    text += " from " + std::to_string(servers.size()) + " servers";
  } else if (!events.empty()) {
    text += ", " + events.front().time + " to " + events.back().time;
  }
  text += "\n\ngrants per client:\n";
  if (per_client.empty()) text += "  none\n";
  for (const auto& [client, tally] : per_client)
    text += "  " + client + ": " + GrantCounts(tally) + "\n";
  text += "\ngrants per source:\n";
  if (per_source.empty()) text += "  none\n";
  for (const auto& [source, tally] : per_source)
    text += "  " + source + ": " + GrantCounts(tally) + "\n";
  text += "\nrefused per source:\n";
  if (refused.empty()) text += "  none\n";
  for (const auto& [source, tally] : refused)
    text += "  " + source + ": " + RefusalCounts(tally) + "\n";
  if (servers.size() > 1)
    return text + SeveralServersSummary(events, servers, now_us);
  text += "\nholes open now:\n";
  const OpenHoles holes = FindOpenHoles(events, now_us);
  if (holes.empty()) text += "  none\n";
  for (const auto& [key, expiry] : holes)
    text += "  " + std::get<0>(key) + " " + std::get<1>(key) + " from " +
            std::get<2>(key) + " until " + expiry.second + "\n";
  text += "\ntimeline:\n";
  for (const AuditEvent& event : events) {
    if (event.event != "file") text += "  " + FormatAuditEvent(event) + "\n";
  }
  return text;
}

}  // namespace knock
