#include "knockd/shared/journal_entry.h"

#include <cctype>

#include "common/clock.h"

namespace knock {

namespace {

// 32473 is the enterprise number RFC 5612 sets aside for documentation;
// knockd has none of its own. Fixed, so that rsyslog templates can name it.
constexpr char kStructuredDataId[] = "knock@32473";
constexpr int kLengthBytes = 8;

const char* MessageIdFor(Verdict verdict) {
  switch (verdict) {
    case Verdict::kGranted:
      return kMessageIdGranted;
    case Verdict::kRefreshed:
      return kMessageIdRefreshed;
    case Verdict::kReplay:
      return kMessageIdReplay;
    case Verdict::kExpiredWindow:
      return kMessageIdExpiredWindow;
  }
  return kMessageIdGranted;
}

std::string PortList(const std::vector<uint16_t>& ports) {
  std::string out;
  for (uint16_t port : ports)
    out += (out.empty() ? "" : ",") + std::to_string(port);
  return out;
}

}  // namespace

std::vector<LogField> OutcomeFields(const KnockOutcome& outcome) {
  const MatchEvent& match = outcome.match;
  std::vector<LogField> fields = {
      {"MESSAGE_ID", MessageIdFor(match.verdict)},
      {"KNOCK_VERDICT", VerdictName(match.verdict)},
      {"KNOCK_CLIENT", outcome.client},
      {"KNOCK_SERVICE", outcome.service},
      {"KNOCK_SOURCE", match.source.ToString()},
      {"KNOCK_WINDOW", std::to_string(match.owner.window)},
      {"KNOCK_SLOT", std::to_string(match.owner.slot)},
  };
  if (match.verdict == Verdict::kGranted ||
      match.verdict == Verdict::kRefreshed) {
    fields.push_back({"KNOCK_PORTS", PortList(match.ports)});
    fields.push_back({"KNOCK_UNTIL", FormatTimestampUs(match.expires_us)});
  }
  if (match.verdict == Verdict::kReplay)
    fields.push_back({"KNOCK_FIRST_SOURCE", match.first_source.ToString()});
  if (match.owner.bound) fields.push_back({"KNOCK_BOUND", "1"});
  if (!outcome.refused.empty())
    fields.push_back({"KNOCK_REFUSED", outcome.refused});
  return fields;
}

std::vector<LogField> NotEnforcedFields(const KnockOutcome& outcome,
                                        const std::string& error) {
  std::vector<LogField> fields = OutcomeFields(outcome);
  fields.front().value = kMessageIdNotEnforced;
  fields.push_back({"KNOCK_ENFORCED", "false"});
  fields.push_back({"KNOCK_ERROR", error});
  return fields;
}

std::vector<LogField> LifecycleFields(const char* message_id,
                                      const char* event) {
  return {{"MESSAGE_ID", message_id}, {"KNOCK_EVENT", event}};
}

std::string EncodeJournalEntry(const std::vector<LogField>& fields) {
  std::string out;
  for (const LogField& field : fields) {
    if (field.value.find('\n') == std::string::npos) {
      out += field.key + "=" + field.value + "\n";
      continue;
    }
    out += field.key + "\n";
    uint64_t length = field.value.size();
    for (int i = 0; i < kLengthBytes; ++i, length >>= 8)
      out += static_cast<char>(length & 0xff);
    out += field.value + "\n";
  }
  return out;
}

std::string FormatStructuredData(const std::vector<LogField>& fields) {
  std::string out = std::string("[") + kStructuredDataId;
  for (const LogField& field : fields) {
    std::string name = field.key.rfind("KNOCK_", 0) == 0
                           ? field.key.substr(sizeof("KNOCK_") - 1)
                           : field.key;
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += " " + name + "=\"";
    for (char c : field.value) {
      if (c == '"' || c == '\\' || c == ']') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "]";
}

}  // namespace knock
