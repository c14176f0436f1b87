#include "knockd/audit/audit_line.h"

#include <sodium.h>

#include "common/clock.h"

namespace knock {

namespace {

constexpr std::string_view kMacMember = ",\"mac\":\"";
constexpr std::string_view kLineEnd = "\"}";

bool DecodeMac(const nlohmann::ordered_json& json, const char* name,
               AuditMac* out) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_string()) return false;
  std::string err;
  return DecodeKey(it->get_ref<const std::string&>(), out, &err);
}

bool ReadString(const nlohmann::ordered_json& json, const char* name,
                std::string* out) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

}  // namespace

std::string SealAuditRecord(const AuditRecord& record,
                            const AuditSealState& state, AuditMac* mac) {
  nlohmann::ordered_json json;
  json["seq"] = state.seq;
  json["time"] = FormatTimestampUs(record.time_us);
  json["event"] = record.event;
  for (const auto& [name, value] : record.fields.items()) json[name] = value;
  json["prev"] = EncodeKey(state.prev);
  // Invalid UTF-8 (a path in an error) is replaced rather than thrown on.
  std::string body = json.dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  body.pop_back();  // the closing brace: "mac" goes in before it
  *mac = SealAuditBody(state.key, body);
  return body + std::string(kMacMember) + EncodeKey(*mac) +
         std::string(kLineEnd) + "\n";
}

bool ParseAuditLine(std::string_view text, AuditLine* out, std::string* why) {
  const size_t mac_at = text.rfind(kMacMember);
  if (mac_at == std::string_view::npos ||
      text.size() !=
          mac_at + kMacMember.size() + kKeyTextChars + kLineEnd.size()) {
    *why = "no seal at the end of the line";
    return false;
  }
  out->json = nlohmann::ordered_json::parse(text, nullptr, false);
  if (out->json.is_discarded() || !out->json.is_object()) {
    *why = "not a JSON object";
    return false;
  }
  auto seq = out->json.find("seq");
  if (seq == out->json.end() || !seq->is_number_unsigned() ||
      !ReadString(out->json, "event", &out->event) ||
      !ReadString(out->json, "time", &out->time) ||
      !DecodeMac(out->json, "prev", &out->prev) ||
      !DecodeMac(out->json, "mac", &out->mac)) {
    *why =
        "\"seq\", \"time\", \"event\", \"prev\" or \"mac\" missing or "
        "malformed";
    return false;
  }
  out->seq = seq->get<uint64_t>();
  out->body = std::string(text.substr(0, mac_at));
  return true;
}

bool AuditLineVerifies(const AuditLine& line, const AuditKey& key) {
  return SameAuditMac(SealAuditBody(key, line.body), line.mac);
}

std::string AuditString(const nlohmann::ordered_json& json, const char* name) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

uint64_t AuditUnsigned(const nlohmann::ordered_json& json, const char* name,
                       uint64_t fallback) {
  auto it = json.find(name);
  if (it == json.end() || !it->is_number_unsigned()) return fallback;
  return it->get<uint64_t>();
}

std::string AuditFragmentHash(std::string_view bytes) {
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash,
                     reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  char hex[2 * sizeof hash + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  return hex;
}

}  // namespace knock
