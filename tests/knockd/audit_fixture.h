#pragma once
// Shared by the audit tests: a temporary directory, a fixed verification
// key and a small sealed log with known times.

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "knockd/audit/audit_log.h"
#include "knockd/audit/audit_record.h"
#include "knockd/audit/audit_seal.h"

namespace audit_test {

// 2026-11-29T18:57:39.123456Z
constexpr int64_t kT0Us = 1795978659123456;
constexpr int64_t kSecondUs = 1000000;

inline knock::AuditKey FixedKey(uint8_t fill) {
  knock::AuditKey key;
  for (size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<uint8_t>(fill + i);
  return key;
}

inline std::string TempDir() {
  char pattern[] = "/tmp/knock-audit.XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  return pattern;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::string JoinLines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

/// A sealing state for seq 0 under `first_key`, labelled with `key_id`
/// (normally the key's own).
inline void WriteState(const std::string& path,
                       const knock::AuditKey& first_key,
                       const std::string& key_id) {
  knock::AuditSealState state;
  state.key = first_key;
  state.key_id = key_id;
  std::string err;
  REQUIRE(knock::WriteAuditSealState(path, state, &err));
}

inline knock::KnockOutcome Match(knock::Verdict verdict, const char* client,
                                 const char* source, int64_t time_us) {
  knock::KnockOutcome event;
  event.client = client;
  event.service = "ssh";
  event.match.verdict = verdict;
  std::string err;
  REQUIRE(knock::IpAddress::Parse(source, &event.match.source, &err));
  REQUIRE(
      knock::IpAddress::Parse("198.18.0.2", &event.match.first_source, &err));
  event.match.owner.window = 59868835;
  event.match.owner.slot = 1;
  event.match.time_us = time_us;
  event.match.expires_us = time_us + 30 * kSecondUs;
  return event;
}

inline knock::ServerConfig SshConfig() {
  knock::ServerConfig config;
  config.path = "/etc/knockd/knockd.toml";
  knock::ServiceSettings ssh;
  ssh.name = "ssh";
  ssh.ports = {{knock::Transport::kTcp, 22}};
  config.services.push_back(ssh);
  knock::ClientSettings alice;
  alice.name = "alice";
  config.clients.push_back(alice);
  return config;
}

/// The six records every tamper case starts from:
/// 0 file, 1 start, 2 grant, 3 replay, 4 expiry, 5 stop.
inline std::vector<knock::AuditRecord> SampleRecords() {
  const knock::ServerConfig config = SshConfig();
  return {
      knock::AuditStart(kT0Us, config, "nftables"),
      knock::AuditMatch(Match(knock::Verdict::kGranted, "alice", "198.18.0.2",
                              kT0Us + kSecondUs),
                        config),
      knock::AuditMatch(Match(knock::Verdict::kReplay, "alice", "198.18.0.9",
                              kT0Us + 2 * kSecondUs),
                        config),
      knock::AuditExpiry(
          kT0Us + 31 * kSecondUs, "alice", "ssh",
          Match(knock::Verdict::kGranted, "alice", "198.18.0.2", 0)
              .match.source),
      knock::AuditStop(kT0Us + 40 * kSecondUs, "SIGTERM"),
  };
}

/// Writes `records` to dir/audit.jsonl sealed from `first_key`, whose
/// state claims `key_id`; returns the log's path.
inline std::string WriteLog(const std::string& dir,
                            const std::vector<knock::AuditRecord>& records,
                            const knock::AuditKey& first_key,
                            const std::string& key_id) {
  const std::string log = dir + "/audit.jsonl";
  WriteState(dir + "/audit.key", first_key, key_id);
  knock::AuditLog writer;
  std::string err;
  REQUIRE(writer.Open(log, dir + "/audit.key", &err));
  for (const knock::AuditRecord& record : records) {
    INFO(err);
    REQUIRE(writer.Append(record, &err));
  }
  return log;
}

inline std::string WriteSampleLog(const std::string& dir) {
  const knock::AuditKey key = FixedKey(1);
  return WriteLog(dir, SampleRecords(), key, knock::AuditKeyId(key));
}

}  // namespace audit_test
