#pragma once
// `knockd audit --verify`: checks every seal and the chain across files
// from the verification key k_0, and names the first record that fails and
// why (edited, deleted, inserted, reordered, truncated, forged, wrong key).

#include <cstdint>
#include <string>
#include <vector>

#include "knockd/audit/audit_seal.h"

namespace knock {

/// One audit log file's name (for messages) and contents.
struct AuditFile {
  std::string name;
  std::string text;
};

/// One line of the given files, in order, as the verifier and the summary
/// see it.
struct AuditFileLine {
  const AuditFile* file = nullptr;
  size_t line_number = 0;  // from 1
  std::string text;        // without its '\n'
  bool complete = true;    // false: the file ended without a newline
};

/// Splits files into lines, in the order given.
std::vector<AuditFileLine> SplitAuditFiles(const std::vector<AuditFile>& files);

/// What verification found. On failure `message` is
/// "FILE:LINE: record SEQ: why" for the first record that fails.
struct AuditVerifyResult {
  bool ok = false;
  uint64_t records = 0;
  std::string sealed_through;  // time of the last good record
  std::string message;
  /// Things that are fine but worth knowing (a crash's recovered line,
  /// a chain checked from a later file).
  std::vector<std::string> notes;
  /// Key evolutions (one hash each) the check took: the work done, which
  /// must stay linear in the records and their sequence numbers whatever
  /// order forged lines put them in.
  uint64_t key_evolutions = 0;
};

/// Checks `files` (in chain order) against `first_key` (k_0).
AuditVerifyResult VerifyAuditFiles(const AuditKey& first_key,
                                   const std::vector<AuditFile>& files);

/// "OK, N records, sealed through T" or the failure message.
std::string FormatAuditVerifyResult(const AuditVerifyResult& result);

/// Reads files for the verifier and the summary.
bool ReadAuditFiles(const std::vector<std::string>& paths,
                    std::vector<AuditFile>* out, std::string* err);

}  // namespace knock
