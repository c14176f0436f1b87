#pragma once
// The on-disk form of one sealed audit record: a JSON object on one line
// whose last member is "mac", the seal of every byte before ',"mac":'.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "knockd/audit/audit_record.h"
#include "knockd/audit/audit_seal.h"

namespace knock {

/// One parsed line of the audit log: the chain fields, the sealed bytes
/// and the whole object for readers.
struct AuditLine {
  uint64_t seq = 0;
  std::string event;
  std::string time;
  AuditMac prev{};
  AuditMac mac{};
  /// The bytes the seal covers: the line up to ',"mac":'.
  std::string body;
  nlohmann::ordered_json json;
};

/// The line (ending in '\n') for `record` as record `state.seq`, chained to
/// `state.prev` and sealed with `state.key`; `*mac` is its seal.
std::string SealAuditRecord(const AuditRecord& record,
                            const AuditSealState& state, AuditMac* mac);
/// Parses one line (without its '\n'). False, with `why`, when it is not a
/// sealed record: not JSON, or a chain field missing or malformed.
bool ParseAuditLine(std::string_view text, AuditLine* out, std::string* why);
/// True when the line's seal is right under `key` (k_seq).
bool AuditLineVerifies(const AuditLine& line, const AuditKey& key);
/// A string member of a record, or "" when absent or not a string.
std::string AuditString(const nlohmann::ordered_json& json, const char* name);
/// An unsigned member of a record, or `fallback` when absent or not one.
uint64_t AuditUnsigned(const nlohmann::ordered_json& json, const char* name,
                       uint64_t fallback);
/// BLAKE2b-256 of `bytes` in hex: names an incomplete line left by a crash.
std::string AuditFragmentHash(std::string_view bytes);

}  // namespace knock
