// The audit verifier against a tamper corpus: every kind of damage is found
// at the right record with its exact message; a clean log passes.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "knockd/audit/audit_line.h"
#include "knockd/audit/audit_verify.h"
#include "knockd/audit_fixture.h"

namespace {

using audit_test::FixedKey;
using audit_test::JoinLines;
using audit_test::Lines;

std::string Verify(const std::string& text,
                   const knock::AuditKey& key = FixedKey(1)) {
  const knock::AuditVerifyResult result =
      knock::VerifyAuditFiles(key, {{"audit.jsonl", text}});
  return knock::FormatAuditVerifyResult(result);
}

std::string SampleText() {
  return audit_test::ReadFile(
      audit_test::WriteSampleLog(audit_test::TempDir()));
}

std::string WithLines(const std::vector<std::string>& lines) {
  return JoinLines(lines);
}

}  // namespace

TEST_CASE("A clean log verifies, sealed through its last record's time") {
  const std::string text = SampleText();
  REQUIRE(Lines(text).size() == 6);
  CHECK(Verify(text) ==
        "OK, 6 records, sealed through 2026-11-29T18:58:19.123456Z");
}

TEST_CASE("One byte edited is found at that record") {
  std::vector<std::string> lines = Lines(SampleText());
  const size_t at = lines[2].find("\"alice\"");
  REQUIRE(at != std::string::npos);
  lines[2][at + 5] = 'f';  // alice -> alicf
  CHECK(Verify(WithLines(lines)) ==
        "audit.jsonl:3: record 2: edited: the seal does not match the content");
}

TEST_CASE("One byte of a seal edited is an edit too") {
  std::vector<std::string> lines = Lines(SampleText());
  char& c = lines[3][lines[3].size() - 5];
  c = c == 'A' ? 'B' : 'A';
  CHECK(Verify(WithLines(lines)) ==
        "audit.jsonl:4: record 3: edited: the seal does not match the content");
}

TEST_CASE("An edit that breaks the JSON is found at that line") {
  std::vector<std::string> lines = Lines(SampleText());
  lines[1][0] = '[';
  CHECK(Verify(WithLines(lines)) ==
        "audit.jsonl:2: record 1: edited: not a sealed record (not a JSON "
        "object)");
}

TEST_CASE("A deleted line is found at the record after the gap") {
  std::vector<std::string> lines = Lines(SampleText());
  lines.erase(lines.begin() + 3);
  CHECK(Verify(WithLines(lines)) ==
        "audit.jsonl:4: record 4: deleted: record 3 is missing before it");
  lines.erase(lines.begin() + 2);
  CHECK(Verify(WithLines(lines)) ==
        "audit.jsonl:3: record 4: deleted: records 2 to 3 are missing before "
        "it");
}

TEST_CASE("Deleting the first line shows: a file begins with its file record") {
  std::vector<std::string> lines = Lines(SampleText());
  lines.erase(lines.begin());
  CHECK(Verify(WithLines(lines)) ==
        "audit.jsonl:1: record 1: deleted: the file does not begin with its "
        "\"file\" record");
}

TEST_CASE("Two lines swapped are found at the first of them") {
  std::vector<std::string> lines = Lines(SampleText());
  std::swap(lines[2], lines[3]);
  CHECK(Verify(WithLines(lines)) ==
        "audit.jsonl:3: record 3: reordered: it comes before record 2 "
        "(audit.jsonl:4)");
}

TEST_CASE("A file truncated mid-line is found at its last line") {
  const std::string text = SampleText();
  const std::string cut = text.substr(0, text.size() - 20);
  CHECK(Verify(cut) ==
        "audit.jsonl:6: record 5: truncated: the last line is incomplete (" +
            std::to_string(Lines(cut).back().size()) + " bytes, no newline)");
}

TEST_CASE("Forged lines appended are found at the first of them") {
  std::vector<std::string> lines = Lines(SampleText());
  knock::AuditLine last;
  std::string why;
  REQUIRE(knock::ParseAuditLine(lines.back(), &last, &why));
  // What an intruder without the key can write: the right seq and prev, and
  // a seal made with a key of their own.
  knock::AuditSealState forger;
  forger.seq = 6;
  forger.key = FixedKey(99);
  forger.prev = last.mac;
  knock::AuditMac mac;
  std::string forged = knock::SealAuditRecord(
      knock::AuditStop(audit_test::kT0Us, "SIGTERM"), forger, &mac);
  forged.pop_back();
  lines.push_back(forged);
  forger.Advance(mac);
  forged = knock::SealAuditRecord(
      knock::AuditStop(audit_test::kT0Us, "SIGTERM"), forger, &mac);
  forged.pop_back();
  lines.push_back(forged);
  CHECK(Verify(WithLines(lines)) ==
        "audit.jsonl:7: record 6: forged: the seal does not match, nor does "
        "any later record's");
}

TEST_CASE("A line inserted in the middle is found as inserted") {
  std::vector<std::string> lines = Lines(SampleText());
  std::string copy = lines[2];
  copy.replace(copy.find("198.18.0.2"), 10, "198.18.0.7");
  lines.insert(lines.begin() + 2, copy);
  CHECK(Verify(WithLines(lines)) ==
        "audit.jsonl:3: record 2: inserted: not part of the chain (the next "
        "line continues it)");
  std::vector<std::string> doubled = Lines(SampleText());
  doubled.insert(doubled.begin() + 3, doubled[2]);
  CHECK(Verify(WithLines(doubled)) ==
        "audit.jsonl:4: record 2: inserted: a copy of record 2 "
        "(audit.jsonl:3)");
}

TEST_CASE(
    "The whole file re-chained without the key fails at its first record") {
  // The intruder reseals everything with a key of their own and keeps the
  // key id the log had.
  const std::string dir = audit_test::TempDir();
  const std::string log =
      audit_test::WriteLog(dir, audit_test::SampleRecords(), FixedKey(50),
                           knock::AuditKeyId(FixedKey(1)));
  CHECK(Verify(audit_test::ReadFile(log)) ==
        "audit.jsonl:1: record 0: re-sealed without the key: no record's seal "
        "verifies under this key, though the key id matches");
}

TEST_CASE("A valid file checked with the wrong key names both key ids") {
  CHECK(Verify(SampleText(), FixedKey(2)) ==
        "audit.jsonl:1: record 0: wrong key: the log is sealed under key id " +
            knock::AuditKeyId(FixedKey(1)) + ", this key's id is " +
            knock::AuditKeyId(FixedKey(2)));
}

TEST_CASE("The chain continues across files and a missing file shows") {
  const std::string dir = audit_test::TempDir();
  const std::string log = dir + "/audit.jsonl";
  audit_test::WriteState(dir + "/audit.key", FixedKey(1),
                         knock::AuditKeyId(FixedKey(1)));
  knock::AuditLog writer;
  std::string err;
  REQUIRE(writer.Open(log, dir + "/audit.key", &err));
  std::vector<std::string> names;
  for (int file = 0; file < 3; ++file) {
    for (const knock::AuditRecord& record : audit_test::SampleRecords())
      REQUIRE(writer.Append(record, &err));
    names.push_back(log + "." + std::to_string(file));
    REQUIRE(rename(log.c_str(), names.back().c_str()) == 0);
  }
  std::vector<knock::AuditFile> files;
  REQUIRE(knock::ReadAuditFiles(names, &files, &err));
  knock::AuditVerifyResult result = knock::VerifyAuditFiles(FixedKey(1), files);
  CHECK(knock::FormatAuditVerifyResult(result) ==
        "OK, 18 records, sealed through 2026-11-29T18:58:19.123456Z");
  CHECK(result.notes.empty());

  result = knock::VerifyAuditFiles(FixedKey(1), {files[0], files[2]});
  CHECK(result.message == names[2] +
                              ":1: record 12: deleted: records 6 to 11 are "
                              "missing before it");
  result = knock::VerifyAuditFiles(FixedKey(1), {files[2]});
  CHECK(knock::FormatAuditVerifyResult(result) ==
        "OK, 6 records, sealed through 2026-11-29T18:58:19.123456Z");
  CHECK(result.notes == std::vector<std::string>{
                            "checked from record 12: the records before it "
                            "are in files not given"});
}

TEST_CASE("An empty log has no records to vouch for") {
  CHECK(Verify("") == "no records");
}

TEST_CASE("knockd audit --verify prints the verdict and sets the exit status") {
  const std::string log = audit_test::WriteSampleLog(audit_test::TempDir());
  auto run = [&](const std::string& key, std::string* out) {
    const std::string command = std::string(KNOCKD_BINARY) +
                                " audit --verify --key " + key + " " + log +
                                " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[512];
    while (fgets(buffer, sizeof buffer, pipe) != nullptr) *out += buffer;
    return WEXITSTATUS(pclose(pipe));
  };
  std::string out;
  CHECK(run(knock::EncodeKey(FixedKey(1)), &out) == 0);
  CHECK(out == "OK, 6 records, sealed through 2026-11-29T18:58:19.123456Z\n");
  out.clear();
  CHECK(run(knock::EncodeKey(FixedKey(2)), &out) == 1);
  CHECK(out.find(log + ":1: record 0: wrong key: ") == 0);
  out.clear();
  CHECK(run("short", &out) == 2);
  CHECK(out ==
        "knockd: --key: a key is 44 base64 characters, got 5 (secret, not "
        "shown) (see: knockd audit --help)\n");
}

TEST_CASE("Forged sequence numbers that jump back and forth cost one walk") {
  std::vector<std::string> lines = Lines(SampleText());
  knock::AuditLine last;
  std::string why;
  REQUIRE(knock::ParseAuditLine(lines.back(), &last, &why));
  // 1,000 forged lines whose numbers alternate between far ahead and the
  // start of the chain: a verifier that walks the key chain from k_0 for
  // each would evolve the key 500 * 2^18 times (about 1.3e8 hashes).
  constexpr uint64_t kFarSeq = 6 + (uint64_t{1} << 18);
  constexpr int kForgedLines = 1000;
  knock::AuditSealState forger;
  forger.key = FixedKey(99);
  forger.prev = last.mac;
  for (int n = 0; n < kForgedLines; ++n) {
    forger.seq = n % 2 == 0 ? kFarSeq + static_cast<uint64_t>(n) : 1;
    knock::AuditMac mac;
    std::string forged = knock::SealAuditRecord(
        knock::AuditStop(audit_test::kT0Us, "SIGTERM"), forger, &mac);
    forged.pop_back();
    lines.push_back(forged);
  }
  const knock::AuditVerifyResult result =
      knock::VerifyAuditFiles(FixedKey(1), {{"audit.jsonl", JoinLines(lines)}});
  CHECK(knock::FormatAuditVerifyResult(result) ==
        "audit.jsonl:7: record " + std::to_string(kFarSeq) +
            ": forged: the seal does not match, nor does any later record's");
  // One walk to the farthest number, plus at most a few restarts from a
  // checkpoint (2^16 records apart) below an earlier number.
  const uint64_t farthest = kFarSeq + kForgedLines;
  CHECK(result.key_evolutions >= farthest);
  CHECK(result.key_evolutions <= farthest + 4 * (uint64_t{1} << 16));
}

TEST_CASE("Going back along the chain restarts from a checkpoint, not k_0") {
  // Control for the bound above: the same forged numbers in increasing
  // order cost the same walk, so the order of lines buys an attacker
  // nothing.
  std::vector<std::string> lines = Lines(SampleText());
  knock::AuditLine last;
  std::string why;
  REQUIRE(knock::ParseAuditLine(lines.back(), &last, &why));
  constexpr uint64_t kFarSeq = 6 + (uint64_t{1} << 18);
  knock::AuditSealState forger;
  forger.key = FixedKey(99);
  forger.prev = last.mac;
  for (uint64_t seq : {uint64_t{1}, kFarSeq}) {
    forger.seq = seq;
    knock::AuditMac mac;
    std::string forged = knock::SealAuditRecord(
        knock::AuditStop(audit_test::kT0Us, "SIGTERM"), forger, &mac);
    forged.pop_back();
    lines.push_back(forged);
  }
  const knock::AuditVerifyResult result =
      knock::VerifyAuditFiles(FixedKey(1), {{"audit.jsonl", JoinLines(lines)}});
  CHECK(result.key_evolutions >= kFarSeq);
  CHECK(result.key_evolutions <= kFarSeq + 4 * (uint64_t{1} << 16));
}

TEST_CASE("knockd audit --verify checks many servers' logs, each its key") {
  const std::string web = audit_test::WriteSampleLog(audit_test::TempDir());
  const std::string db = audit_test::WriteSampleLog(audit_test::TempDir());
  // The second server's key comes from a key file.
  const std::string key_file = audit_test::TempDir() + "/db.key";
  FILE* file = fopen(key_file.c_str(), "w");
  REQUIRE(file != nullptr);
  fprintf(file, "%s\n", knock::EncodeKey(FixedKey(1)).c_str());
  fclose(file);
  auto run = [&](const std::string& args, std::string* out) {
    const std::string command =
        std::string(KNOCKD_BINARY) + " audit --verify " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[512];
    while (fgets(buffer, sizeof buffer, pipe) != nullptr) *out += buffer;
    return WEXITSTATUS(pclose(pipe));
  };
  const std::string good = knock::EncodeKey(FixedKey(1));
  std::string out;
  CHECK(run("--key " + good + " " + web + " --key " + key_file + " " + db,
            &out) == 0);
  CHECK(out == web +
                   ": OK, 6 records, sealed through "
                   "2026-11-29T18:58:19.123456Z\n" +
                   db +
                   ": OK, 6 records, sealed through "
                   "2026-11-29T18:58:19.123456Z\n");
  // Control: the same logs with the wrong key for one server fail it alone.
  out.clear();
  CHECK(run("--key " + good + " " + web + " --key " +
                knock::EncodeKey(FixedKey(2)) + " " + db,
            &out) == 1);
  CHECK(out.find(web + ": OK, 6 records") == 0);
  CHECK(out.find(db + ": " + db + ":1: record 0: wrong key: ") !=
        std::string::npos);
  out.clear();
  CHECK(run(web + " --key " + good + " --key " + good + " " + db, &out) == 2);
  CHECK(out ==
        "knockd: with several --key, name each server's files after its "
        "--key (see: knockd audit --help)\n");
}
