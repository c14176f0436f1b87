// The audit log writer: the line format, one seal per record under an
// evolving key, the state file, recovery after a crash, and rotation.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "knockd/audit/audit_line.h"
#include "knockd/audit/audit_log.h"
#include "knockd/audit/audit_verify.h"
#include "knockd/audit_fixture.h"

namespace {

using audit_test::FixedKey;
using audit_test::Lines;
using audit_test::ReadFile;

knock::AuditVerifyResult VerifyFile(const std::string& path) {
  return knock::VerifyAuditFiles(FixedKey(1),
                                 {{"audit.jsonl", ReadFile(path)}});
}

knock::AuditLine ParseLine(const std::string& text) {
  knock::AuditLine line;
  std::string why;
  INFO(text);
  REQUIRE(knock::ParseAuditLine(text, &line, &why));
  return line;
}

}  // namespace

TEST_CASE("A record is one JSON line: seq, time, event, fields, prev, mac") {
  const std::string log = audit_test::WriteSampleLog(audit_test::TempDir());
  const std::vector<std::string> lines = Lines(ReadFile(log));
  REQUIRE(lines.size() == 6);
  const std::string zeros = knock::EncodeKey(knock::AuditMac{});
  CHECK(lines[0].rfind("{\"seq\":0,\"time\":\"2026-11-29T18:57:39.123456Z\","
                       "\"event\":\"file\",\"key_id\":\"" +
                           knock::AuditKeyId(FixedKey(1)) + "\",\"prev\":\"" +
                           zeros + "\",\"mac\":\"",
                       0) == 0);
  CHECK(lines[2].rfind(
            "{\"seq\":2,\"time\":\"2026-11-29T18:57:40.123456Z\",\"event\":"
            "\"grant\",\"client\":\"alice\",\"service\":\"ssh\",\"source\":"
            "\"198.18.0.2\",\"window\":59868835,\"slot\":1,\"ports\":"
            "[\"tcp/22\"],\"expires\":\"2026-11-29T18:58:10.123456Z\","
            "\"prev\":\"",
            0) == 0);
  CHECK(lines[5].rfind(
            "{\"seq\":5,\"time\":\"2026-11-29T18:58:19.123456Z\",\"event\":"
            "\"stop\",\"reason\":\"SIGTERM\",\"prev\":\"",
            0) == 0);
  for (const std::string& line : lines)
    CHECK(line.substr(line.size() - 2) == "\"}");
}

TEST_CASE("Record i is sealed under k_i and names the seal of record i-1") {
  const std::string dir = audit_test::TempDir();
  const std::string log = audit_test::WriteSampleLog(dir);
  knock::AuditMac prev{};
  uint64_t seq = 0;
  for (const std::string& text : Lines(ReadFile(log))) {
    const knock::AuditLine line = ParseLine(text);
    CHECK(line.seq == seq);
    CHECK(knock::SameAuditMac(line.prev, prev));
    CHECK(knock::AuditLineVerifies(line, knock::AuditKeyAt(FixedKey(1), seq)));
    CHECK_FALSE(knock::AuditLineVerifies(
        line, knock::AuditKeyAt(FixedKey(1), seq + 1)));
    prev = line.mac;
    ++seq;
  }
  // The state holds only k_6: the keys that sealed the log are gone.
  knock::AuditSealState state;
  std::string err;
  REQUIRE(knock::ReadAuditSealState(dir + "/audit.key", &state, &err));
  CHECK(state.seq == 6);
  CHECK(state.key == knock::AuditKeyAt(FixedKey(1), 6));
  CHECK(knock::SameAuditMac(state.prev, prev));
  const std::string state_text = ReadFile(dir + "/audit.key");
  for (uint64_t i = 0; i < 6; ++i) {
    CHECK(state_text.find(knock::EncodeKey(
              knock::AuditKeyAt(FixedKey(1), i))) == std::string::npos);
  }
  struct stat info;
  REQUIRE(stat((dir + "/audit.key").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
}

TEST_CASE("Opening without a sealing state points at knockd audit init") {
  const std::string dir = audit_test::TempDir();
  knock::AuditLog writer;
  std::string err;
  CHECK_FALSE(writer.Open(dir + "/audit.jsonl", dir + "/audit.key", &err));
  CHECK(err == dir +
                   "/audit.key: cannot read: No such file or directory "
                   "(create it with: knockd audit init)");
}

TEST_CASE("An incomplete last line is sealed over and the chain goes on") {
  const std::string dir = audit_test::TempDir();
  const std::string log = audit_test::WriteSampleLog(dir);
  // kill -9 in the middle of a write: half a record, no newline.
  const std::string fragment = "{\"seq\":6,\"time\":\"2026-11-29T18:5";
  audit_test::WriteFile(log, ReadFile(log) + fragment);
  CHECK(VerifyFile(log).message ==
        "audit.jsonl:7: record 6: truncated: the last line is incomplete (32 "
        "bytes, no newline)");

  knock::AuditLog writer;
  std::string err;
  REQUIRE(writer.Open(log, dir + "/audit.key", &err));
  CHECK(writer.TakeNotes() ==
        std::vector<std::string>{
            log + ": an incomplete last line of 32 bytes (a crash while "
                  "writing); sealed it as recovered and continued the chain "
                  "at record 6"});
  REQUIRE(writer.Append(
      knock::AuditStop(audit_test::kT0Us + 50 * 1000000, "SIGINT"), &err));
  const std::vector<std::string> lines = Lines(ReadFile(log));
  REQUIRE(lines.size() == 9);
  CHECK(lines[6] == fragment);
  const knock::AuditLine recovered = ParseLine(lines[7]);
  CHECK(recovered.seq == 6);
  CHECK(recovered.event == "recovered");
  CHECK(recovered.json["fragment_bytes"] == 32);
  CHECK(recovered.json["fragment_hash"] == knock::AuditFragmentHash(fragment));
  const knock::AuditVerifyResult result = VerifyFile(log);
  CHECK(knock::FormatAuditVerifyResult(result) ==
        "OK, 8 records, sealed through 2026-11-29T18:58:29.123456Z");
  CHECK(result.notes == std::vector<std::string>{
                            "audit.jsonl:7: an incomplete line of 32 bytes "
                            "left by a crash, sealed by record 6"});
}

TEST_CASE("A state one record behind the log catches up instead of forking") {
  const std::string dir = audit_test::TempDir();
  const std::string log = audit_test::WriteSampleLog(dir);
  const std::string before = ReadFile(dir + "/audit.key");
  knock::AuditLog writer;
  std::string err;
  REQUIRE(writer.Open(log, dir + "/audit.key", &err));
  REQUIRE(writer.Append(knock::AuditStop(audit_test::kT0Us, "SIGINT"), &err));
  // A crash after the line was written, before the state was replaced.
  audit_test::WriteFile(dir + "/audit.key", before);
  knock::AuditLog restarted;
  REQUIRE(restarted.Open(log, dir + "/audit.key", &err));
  CHECK(restarted.TakeNotes() ==
        std::vector<std::string>{dir + "/audit.key: one record behind the log "
                                       "(a crash between the two writes); "
                                       "caught up to record 7"});
  REQUIRE(
      restarted.Append(knock::AuditStop(audit_test::kT0Us, "SIGTERM"), &err));
  CHECK(knock::FormatAuditVerifyResult(VerifyFile(log)) ==
        "OK, 8 records, sealed through 2026-11-29T18:57:39.123456Z");
}

TEST_CASE("A batch is one group commit that verifies record by record") {
  const std::string dir = audit_test::TempDir();
  const std::string log = audit_test::WriteSampleLog(dir);
  knock::AuditLog writer;
  std::string err;
  REQUIRE(writer.Open(log, dir + "/audit.key", &err));
  std::vector<knock::AuditRecord> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back(knock::AuditStop(audit_test::kT0Us + i, "batch"));
  REQUIRE(writer.AppendAll(batch, &err));
  REQUIRE(writer.AppendAll({}, &err));
  const std::vector<std::string> lines = Lines(ReadFile(log));
  REQUIRE(lines.size() == 26);
  CHECK(ParseLine(lines[25]).seq == 25);
  CHECK(knock::FormatAuditVerifyResult(VerifyFile(log)) ==
        "OK, 26 records, sealed through 2026-11-29T18:57:39.123475Z");
}

TEST_CASE(
    "A state a whole batch behind the log catches up instead of "
    "forking") {
  const std::string dir = audit_test::TempDir();
  const std::string log = audit_test::WriteSampleLog(dir);
  const std::string before = ReadFile(dir + "/audit.key");
  knock::AuditLog writer;
  std::string err;
  REQUIRE(writer.Open(log, dir + "/audit.key", &err));
  std::vector<knock::AuditRecord> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(knock::AuditStop(audit_test::kT0Us, "batch"));
  REQUIRE(writer.AppendAll(batch, &err));
  // A crash after the batch's lines were written, before the state was
  // replaced.
  audit_test::WriteFile(dir + "/audit.key", before);
  knock::AuditLog restarted;
  REQUIRE(restarted.Open(log, dir + "/audit.key", &err));
  CHECK(restarted.TakeNotes() ==
        std::vector<std::string>{dir + "/audit.key: 5 records behind the log "
                                       "(a crash between the two writes); "
                                       "caught up to record 11"});
  REQUIRE(
      restarted.Append(knock::AuditStop(audit_test::kT0Us, "SIGTERM"), &err));
  CHECK(knock::FormatAuditVerifyResult(VerifyFile(log)) ==
        "OK, 12 records, sealed through 2026-11-29T18:57:39.123456Z");
}

TEST_CASE(
    "A batch torn by a crash keeps its whole records and seals the "
    "rest over") {
  const std::string dir = audit_test::TempDir();
  const std::string log = audit_test::WriteSampleLog(dir);
  const std::string before = ReadFile(dir + "/audit.key");
  knock::AuditLog writer;
  std::string err;
  REQUIRE(writer.Open(log, dir + "/audit.key", &err));
  std::vector<knock::AuditRecord> batch;
  for (int i = 0; i < 3; ++i)
    batch.push_back(knock::AuditStop(audit_test::kT0Us, "batch"));
  REQUIRE(writer.AppendAll(batch, &err));
  // The crash came in the middle of the batch's write: the last record is
  // cut, and the state was never replaced.
  std::string text = ReadFile(log);
  text.resize(text.size() - 20);
  audit_test::WriteFile(log, text);
  audit_test::WriteFile(dir + "/audit.key", before);
  knock::AuditLog restarted;
  REQUIRE(restarted.Open(log, dir + "/audit.key", &err));
  const std::vector<std::string> notes = restarted.TakeNotes();
  REQUIRE(notes.size() == 2);
  CHECK(notes[0] == dir +
                        "/audit.key: 2 records behind the log (a crash "
                        "between the two writes); caught up to record 8");
  REQUIRE(
      restarted.Append(knock::AuditStop(audit_test::kT0Us, "SIGTERM"), &err));
  const knock::AuditVerifyResult result = VerifyFile(log);
  CHECK(result.ok);
  CHECK(result.notes.size() == 1);
}

TEST_CASE(
    "A moved log (logrotate) continues in a new file with a file record") {
  const std::string dir = audit_test::TempDir();
  const std::string log = dir + "/audit.jsonl";
  audit_test::WriteState(dir + "/audit.key", FixedKey(1),
                         knock::AuditKeyId(FixedKey(1)));
  knock::AuditLog writer;
  std::string err;
  REQUIRE(writer.Open(log, dir + "/audit.key", &err));
  REQUIRE(writer.Append(knock::AuditStop(audit_test::kT0Us, "a"), &err));
  REQUIRE(rename(log.c_str(), (log + ".1").c_str()) == 0);
  REQUIRE(writer.Append(knock::AuditStop(audit_test::kT0Us, "b"), &err));
  const std::vector<std::string> lines = Lines(ReadFile(log));
  REQUIRE(lines.size() == 2);
  const knock::AuditLine header = ParseLine(lines[0]);
  CHECK(header.seq == 2);
  CHECK(header.event == "file");
  CHECK(header.json["continues"] == 1);
  std::vector<knock::AuditFile> files;
  REQUIRE(knock::ReadAuditFiles({log + ".1", log}, &files, &err));
  CHECK(knock::FormatAuditVerifyResult(
            knock::VerifyAuditFiles(FixedKey(1), files)) ==
        "OK, 4 records, sealed through 2026-11-29T18:57:39.123456Z");
}

TEST_CASE("A size limit rotates to files named by their first record") {
  const std::string dir = audit_test::TempDir();
  const std::string log = dir + "/audit.jsonl";
  audit_test::WriteState(dir + "/audit.key", FixedKey(1),
                         knock::AuditKeyId(FixedKey(1)));
  knock::AuditLog writer;
  writer.set_max_bytes(600);
  std::string err;
  REQUIRE(writer.Open(log, dir + "/audit.key", &err));
  for (int i = 0; i < 3; ++i) {
    for (const knock::AuditRecord& record : audit_test::SampleRecords())
      REQUIRE(writer.Append(record, &err));
  }
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().string();
    if (name.rfind(log + ".", 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() >= 3);
  CHECK(names[0] == log + ".000000000000");
  for (const std::string& name : names) CHECK(name.size() == log.size() + 13);
  names.push_back(log);
  std::vector<knock::AuditFile> files;
  REQUIRE(knock::ReadAuditFiles(names, &files, &err));
  const knock::AuditVerifyResult result =
      knock::VerifyAuditFiles(FixedKey(1), files);
  INFO(result.message);
  CHECK(result.ok);
  CHECK(result.records == 15 + names.size());
}

TEST_CASE("Two writers (the daemon and knockd flush) keep one chain") {
  const std::string dir = audit_test::TempDir();
  const std::string log = audit_test::WriteSampleLog(dir);
  knock::AuditLog daemon, flush;
  std::string err;
  REQUIRE(daemon.Open(log, dir + "/audit.key", &err));
  REQUIRE(flush.Open(log, dir + "/audit.key", &err));
  REQUIRE(daemon.Append(knock::AuditStop(audit_test::kT0Us, "a"), &err));
  REQUIRE(flush.Append(
      knock::AuditFlush(audit_test::kT0Us, "knockd", "knockd flush"), &err));
  REQUIRE(daemon.Append(knock::AuditStop(audit_test::kT0Us, "b"), &err));
  CHECK(knock::FormatAuditVerifyResult(VerifyFile(log)) ==
        "OK, 9 records, sealed through 2026-11-29T18:57:39.123456Z");
}

namespace {

size_t OpenDescriptors() {
  size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd"))
    ++count;
  return count;
}

}  // namespace

TEST_CASE("An audit log closes every descriptor it opened, rotating or not") {
  const std::string dir = audit_test::TempDir();
  audit_test::WriteState(dir + "/audit.key", FixedKey(1),
                         knock::AuditKeyId(FixedKey(1)));
  const size_t before = OpenDescriptors();
  {
    knock::AuditLog writer;
    writer.set_max_bytes(600);
    std::string err;
    REQUIRE(writer.Open(dir + "/audit.jsonl", dir + "/audit.key", &err));
    // Control: the count sees the log and its lock while they are open.
    CHECK(OpenDescriptors() == before + 2);
    for (int i = 0; i < 3; ++i)
      for (const knock::AuditRecord& record : audit_test::SampleRecords())
        REQUIRE(writer.Append(record, &err));
    CHECK(OpenDescriptors() == before + 2);
  }
  CHECK(OpenDescriptors() == before);
}
