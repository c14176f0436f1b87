#include "knockd/audit/audit_verify.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "common/unique_fd.h"
#include "knockd/audit/audit_line.h"

namespace knock {

namespace {

// Evolving costs one hash; a seq edited to 10^18 must not stall the check.
constexpr uint64_t kMaxEvolveSteps = uint64_t{1} << 24;
// About half a minute of hashing: the longest chain checked from k_0.
constexpr uint64_t kMaxFirstSeq = uint64_t{1} << 26;
// A saved key every this many records: going back to an earlier record
// restarts from the checkpoint below it, not from k_0. At the longest chain
// (kMaxFirstSeq + kMaxEvolveSteps) that is 1,280 keys, 40 KiB.
constexpr uint64_t kCheckpointIntervalRecords = uint64_t{1} << 16;

/// Walks the lines once, checking each record against the key chain; on the
/// first failure looks around it to say what happened.
class Verifier {
 public:
  Verifier(const AuditKey& first_key, const std::vector<AuditFile>& files)
      : first_key_(first_key), lines_(SplitAuditFiles(files)) {
    cached_key_ = first_key_;
    checkpoints_.push_back(first_key_);
    for (const AuditFileLine& line : lines_) {
      AuditLine parsed;
      std::string why;
      if (line.complete && ParseAuditLine(line.text, &parsed, &why)) {
        parsed_.push_back(std::move(parsed));
      } else {
        parsed_.push_back(std::nullopt);
      }
      parse_errors_.push_back(why);
    }
  }
  ~Verifier() {
    sodium_memzero(cached_key_.data(), cached_key_.size());
    for (AuditKey& key : checkpoints_) sodium_memzero(key.data(), key.size());
  }

  AuditVerifyResult Run();

 private:
  bool Check(size_t i);
  bool Start(size_t i);
  bool Fail(size_t i, uint64_t seq, const std::string& why);
  std::string Where(size_t i) const;
  std::string ClassifyUnparsed(size_t i) const;
  std::string ClassifyGenuine(size_t i) const;
  std::string ClassifyBadSeal(size_t i);
  bool IsRecoveredFragment(size_t i) const;
  bool Verifies(size_t i);
  bool ContinuesChain(size_t i);
  bool AnyLaterVerifies(size_t i);
  const AuditKey& KeyAt(uint64_t seq);

  AuditKey first_key_;
  AuditKey cached_key_;
  uint64_t cached_seq_ = 0;
  // checkpoints_[k] is the key of record k * kCheckpointIntervalRecords.
  std::vector<AuditKey> checkpoints_;
  std::vector<AuditFileLine> lines_;
  std::vector<std::optional<AuditLine>> parsed_;
  std::vector<std::string> parse_errors_;
  bool started_ = false;
  uint64_t expected_ = 0;
  AuditMac prev_{};
  AuditVerifyResult result_;
};

const AuditKey& Verifier::KeyAt(uint64_t seq) {
  // Start from the nearest saved key at or below `seq`: the cached one, or
  // a checkpoint when going back or when one lies between the two.
  const uint64_t checkpoint = std::min<uint64_t>(
      seq / kCheckpointIntervalRecords, checkpoints_.size() - 1);
  const uint64_t checkpoint_seq = checkpoint * kCheckpointIntervalRecords;
  if (seq < cached_seq_ || checkpoint_seq > cached_seq_) {
    cached_key_ = checkpoints_[checkpoint];
    cached_seq_ = checkpoint_seq;
  }
  while (cached_seq_ < seq) {
    EvolveAuditKey(&cached_key_);
    ++cached_seq_;
    ++result_.key_evolutions;
    if (cached_seq_ % kCheckpointIntervalRecords == 0 &&
        cached_seq_ / kCheckpointIntervalRecords == checkpoints_.size())
      checkpoints_.push_back(cached_key_);
  }
  return cached_key_;
}

bool Verifier::Verifies(size_t i) {
  if (!parsed_[i] || parsed_[i]->seq > expected_ + kMaxEvolveSteps)
    return false;
  return AuditLineVerifies(*parsed_[i], KeyAt(parsed_[i]->seq));
}

bool Verifier::ContinuesChain(size_t i) {
  return i < lines_.size() && parsed_[i] && parsed_[i]->seq == expected_ &&
         SameAuditMac(parsed_[i]->prev, prev_) && Verifies(i);
}

bool Verifier::AnyLaterVerifies(size_t i) {
  // In order of sequence number, not of lines: forged lines whose numbers
  // jump back and forth would otherwise walk the key chain once each.
  std::vector<size_t> later;
  for (size_t j = i + 1; j < lines_.size(); ++j)
    if (parsed_[j]) later.push_back(j);
  std::sort(later.begin(), later.end(), [this](size_t a, size_t b) {
    return parsed_[a]->seq < parsed_[b]->seq;
  });
  for (size_t j : later)
    if (Verifies(j)) return true;
  return false;
}

std::string Verifier::Where(size_t i) const {
  return lines_[i].file->name + ":" + std::to_string(lines_[i].line_number);
}

bool Verifier::Fail(size_t i, uint64_t seq, const std::string& why) {
  result_.ok = false;
  result_.message = Where(i) + ": record " + std::to_string(seq) + ": " + why;
  return false;
}

bool Verifier::IsRecoveredFragment(size_t i) const {
  if (i + 1 >= lines_.size() || !parsed_[i + 1]) return false;
  const nlohmann::ordered_json& next = parsed_[i + 1]->json;
  const std::string& text = lines_[i].text;
  return parsed_[i + 1]->event == "recovered" &&
         AuditUnsigned(next, "fragment_bytes", 0) == text.size() &&
         AuditString(next, "fragment_hash") == AuditFragmentHash(text);
}

std::string Verifier::ClassifyUnparsed(size_t i) const {
  return "not a sealed record (" + parse_errors_[i] + ")";
}

std::string Verifier::ClassifyGenuine(size_t i) const {
  const uint64_t seq = parsed_[i]->seq;
  if (seq > expected_) {
    for (size_t j = i + 1; j < lines_.size(); ++j) {
      if (parsed_[j] && parsed_[j]->seq >= expected_ && parsed_[j]->seq < seq)
        return "reordered: it comes before record " +
               std::to_string(parsed_[j]->seq) + " (" + Where(j) + ")";
    }
    if (seq == expected_ + 1)
      return "deleted: record " + std::to_string(expected_) +
             " is missing before it";
    return "deleted: records " + std::to_string(expected_) + " to " +
           std::to_string(seq - 1) + " are missing before it";
  }
  if (seq < expected_) {
    for (size_t j = 0; j < i; ++j) {
      if (parsed_[j] && parsed_[j]->seq == seq &&
          lines_[j].text == lines_[i].text)
        return "inserted: a copy of record " + std::to_string(seq) + " (" +
               Where(j) + ")";
    }
    return "reordered: it comes after record " + std::to_string(expected_ - 1);
  }
  return "chain broken: its \"prev\" is not the seal of the record before it";
}

std::string Verifier::ClassifyBadSeal(size_t i) {
  const AuditLine& line = *parsed_[i];
  if (ContinuesChain(i + 1))
    return "inserted: not part of the chain (the next line continues it)";
  if (line.seq == expected_ && i + 1 < lines_.size() && parsed_[i + 1] &&
      parsed_[i + 1]->seq == expected_ + 1 &&
      SameAuditMac(parsed_[i + 1]->prev, line.mac) && Verifies(i + 1))
    return "edited: the seal does not match the content";
  if (!AnyLaterVerifies(i)) {
    if (result_.records == 0)
      return "re-sealed without the key: no record's seal verifies under "
             "this key, though the key id matches";
    return "forged: the seal does not match, nor does any later record's";
  }
  return "edited: the seal does not match the content";
}

bool Verifier::Start(size_t i) {
  const AuditLine& line = *parsed_[i];
  const std::string key_id = AuditKeyId(first_key_);
  const std::string logged_id = AuditString(line.json, "key_id");
  if (line.event == "file" && logged_id != key_id)
    return Fail(i, line.seq,
                "wrong key: the log is sealed under key id " + logged_id +
                    ", this key's id is " + key_id);
  if (line.event != "file")
    return Fail(i, line.seq,
                "deleted: the file does not begin with its \"file\" record");
  if (line.seq > kMaxFirstSeq)
    return Fail(i, line.seq,
                "edited: a chain this long is beyond the verifier (more than " +
                    std::to_string(kMaxFirstSeq) + " records)");
  started_ = true;
  expected_ = line.seq;
  if (line.seq > 0) {
    prev_ = line.prev;
    result_.notes.push_back("checked from record " + std::to_string(line.seq) +
                            ": the records before it are in files not given");
  }
  return true;
}

bool Verifier::Check(size_t i) {
  if (!lines_[i].complete)
    return Fail(i, expected_,
                "truncated: the last line is incomplete (" +
                    std::to_string(lines_[i].text.size()) +
                    " bytes, no newline)");
  if (!parsed_[i]) {
    if (IsRecoveredFragment(i)) {
      result_.notes.push_back(Where(i) + ": an incomplete line of " +
                              std::to_string(lines_[i].text.size()) +
                              " bytes left by a crash, sealed by record " +
                              std::to_string(parsed_[i + 1]->seq));
      return true;
    }
    const char* kind = ContinuesChain(i + 1) ? "inserted: " : "edited: ";
    return Fail(i, expected_, kind + ClassifyUnparsed(i));
  }
  if (!started_ && !Start(i)) return false;
  const AuditLine& line = *parsed_[i];
  if (!Verifies(i)) return Fail(i, line.seq, ClassifyBadSeal(i));
  if (line.seq != expected_ || !SameAuditMac(line.prev, prev_))
    return Fail(i, line.seq, ClassifyGenuine(i));
  prev_ = line.mac;
  ++expected_;
  ++result_.records;
  result_.sealed_through = line.time;
  return true;
}

AuditVerifyResult Verifier::Run() {
  for (size_t i = 0; i < lines_.size(); ++i) {
    if (!Check(i)) return result_;
  }
  result_.ok = result_.records > 0;
  if (!result_.ok) result_.message = "no records";
  return result_;
}

}  // namespace

std::vector<AuditFileLine> SplitAuditFiles(
    const std::vector<AuditFile>& files) {
  std::vector<AuditFileLine> lines;
  for (const AuditFile& file : files) {
    size_t start = 0;
    size_t number = 0;
    while (start < file.text.size()) {
      const size_t end = file.text.find('\n', start);
      AuditFileLine line{&file, ++number, "", end != std::string::npos};
      line.text = file.text.substr(
          start, end == std::string::npos ? std::string::npos : end - start);
      lines.push_back(std::move(line));
      start = end == std::string::npos ? file.text.size() : end + 1;
    }
  }
  return lines;
}

AuditVerifyResult VerifyAuditFiles(const AuditKey& first_key,
                                   const std::vector<AuditFile>& files) {
  return Verifier(first_key, files).Run();
}

std::string FormatAuditVerifyResult(const AuditVerifyResult& result) {
  if (!result.ok) return result.message;
  return "OK, " + std::to_string(result.records) + " records, sealed through " +
         result.sealed_through;
}

bool ReadAuditFiles(const std::vector<std::string>& paths,
                    std::vector<AuditFile>* out, std::string* err) {
  for (const std::string& path : paths) {
    const UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      *err = path + ": cannot read: " + strerror(errno);
      return false;
    }
    AuditFile file{path, ""};
    char buffer[65536];
    ssize_t n;
    while ((n = read(fd.get(), buffer, sizeof buffer)) > 0)
      file.text.append(buffer, n);
    if (n < 0) {
      *err = path + ": cannot read: " + strerror(errno);
      return false;
    }
    out->push_back(std::move(file));
  }
  return true;
}

}  // namespace knock
